"""Reliability under crashes, load and bad input: see docs/reliability.md for the figures."""
