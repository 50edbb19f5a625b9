"""Command-line tools for operators (python -m ops.imports)."""
