"""Backplate's networks and inference engine. Imports no Qt and nothing from app/, annotation/ or training/."""
