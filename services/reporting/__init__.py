"""Reporting: the admin dashboard, sales reports and exports (with neutralised cells), the public
transparency figures, metrics queries, health checks and the benchmark reference endpoint.
"""
