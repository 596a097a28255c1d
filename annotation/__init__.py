"""Polygon annotation tool for capture sets: `python -m annotation -s N`; converters: `python -m annotation.convert`."""
