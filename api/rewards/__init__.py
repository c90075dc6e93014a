"""The rewards catalogue, redeeming rewards with carbon points, and one's own redemptions."""
