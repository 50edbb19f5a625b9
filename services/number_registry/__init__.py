"""Consumes caller-number commands, applies the rules, writes PostgreSQL, emits events."""
