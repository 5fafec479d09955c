"""gradkit benchmarks: run with `python -m bench` (or `make bench`); see bench/README.md."""
