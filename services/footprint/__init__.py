"""The personal carbon footprint: the calculator, saved footprints and the emission factor library."""
