"""Wire-level fakes of the services the project talks to."""
