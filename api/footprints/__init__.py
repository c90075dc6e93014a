"""Personal footprints: calculate, history, trend and one-tap offset."""
