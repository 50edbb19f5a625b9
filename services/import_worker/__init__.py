"""Streams uploaded files row by row and aggregates per-row results into import tasks."""
