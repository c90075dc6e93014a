"""Programs that outsiders run against the service. Each stands alone: it imports nothing of the
service, only the standard library and the packages it names, so it can be copied out and run."""
