"""Admin import and listing of issued batches."""
