"""Carbon points: the user's balance and history, admin adjustments."""
