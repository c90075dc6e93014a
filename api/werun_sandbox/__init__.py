"""The sandbox's WeRun: encrypted WeRun payloads for sandbox logins (never in production)."""
