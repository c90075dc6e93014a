"""Admin: the dashboard of sales, retirements, users, orders, points and money."""
