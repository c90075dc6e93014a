"""Admin view of orders: list, refund, ask WeChat Pay."""
