"""Emission factor sets: the public current set and the admin versions."""
