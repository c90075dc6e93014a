"""Background jobs: RQ tasks, their schedule, and the in-process runner of the embedded default."""
