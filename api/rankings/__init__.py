"""Rankings of reductions and offsets."""
