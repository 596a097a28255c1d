"""Command-line tools, one per file, thin over models/ and training/ (run as python -m tools.NAME)."""
