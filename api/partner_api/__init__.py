"""The API bank partners call with signed requests."""
