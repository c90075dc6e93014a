"""Orders of one-yuan carbon sink and credits."""
