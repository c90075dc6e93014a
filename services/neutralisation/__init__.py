"""Neutralisation of meetings and events by the national guideline, and institutional purchases
(ecological-justice restoration, tree-planting duty): plans, factors, offsets, public disclosure.
"""
