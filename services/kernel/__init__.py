"""The shared kernel: domain errors, Beijing time, idempotency keys, Redis, the admin audit log,
geography, URL and JSON input rules. Every context may use it; it uses no context.
"""
