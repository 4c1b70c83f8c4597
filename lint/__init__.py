"""Checks of our own for `make lint` (an import-linter contract type)."""
