"""Public transparency report of issued, sold and retired credits."""
