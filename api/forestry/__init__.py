"""Memorial forests, plots, plantings and survival checks, and tree adoption."""
