"""Low-carbon actions: WeRun steps, bus and metro trips, the user's own reductions."""
