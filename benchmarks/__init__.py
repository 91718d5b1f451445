"""Side-by-side benchmarks (see benchmarks/README.md); run them with `make bench`."""
