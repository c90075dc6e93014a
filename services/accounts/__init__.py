"""Accounts: WeChat and admin logins, bearer tokens and the principal they resolve to,
organisations and the invitations that make their organisers.
"""
