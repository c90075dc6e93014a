"""Login, logout and the caller's own profile."""
