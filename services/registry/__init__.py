"""The registry side: retiring sold tonnes (draft, submit, confirm), payouts to credit owners,
and the checks that keep both consistent with the pool.
"""
