"""Admin sales reports and their exports."""
