"""Low-carbon actions: logging them (WeRun steps, trips), their crediting policy and methodology,
anti-cheat checks and the admin review of flagged actions.
"""
