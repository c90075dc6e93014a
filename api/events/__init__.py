"""Event carbon neutralisation: plan, account, offset, declare, disclose."""
