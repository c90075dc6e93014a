"""Reconciliation of sales against WeChat Pay's trade bills: runs, matching and resolution."""
