"""Scale benchmarks: run pipeline stages on simulated data and record time and memory."""
