"""WeChat Pay callbacks and the development-only sandbox payment."""
