"""The benchmark suite (`make bench`): a driver (run.py), shared helpers (harness/) and one
module per measured phase (phases/). See bench/README.md."""
