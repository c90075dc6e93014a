"""Use cases. Services never import Flask; one service call is one unit of work."""
