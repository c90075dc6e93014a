"""Rewards: the catalogue of gifts and services, redemption and its states, and bank partners
(their secrets, signed requests and the consents users give them).
"""
