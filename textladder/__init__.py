"""Shared plumbing of the textladder stages: typed configs and run metadata."""
