"""The application layer: the `hfc` command line, the demo and the benchmarks (above export, training and the runtime)."""
