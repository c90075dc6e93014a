"""The benchmark's reference endpoint (only when BENCH_REFERENCE_ENDPOINT is on)."""
