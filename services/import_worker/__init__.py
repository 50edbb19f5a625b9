"""Streams uploaded files row by row to the registry and ends each import task once every row
has its result; writes the task's report."""
