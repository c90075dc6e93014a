"""Admin reconciliation against WeChat Pay trade bills."""
