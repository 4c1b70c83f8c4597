"""The microblog benchmark: `make bench` (see bench/README.md)."""
