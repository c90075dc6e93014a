"""Accounts: WeChat and admin logins, bearer tokens and the principal they resolve to,
organisations and the invitations that make their organisers, requests to delete an account and
the accounts' part of carrying them out, and the privacy guide users accept.
"""
