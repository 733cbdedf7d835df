"""Benchmarks run by `make bench`; each prints its figures and the target it is held to."""
