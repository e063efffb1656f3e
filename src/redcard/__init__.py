"""Redcard: a paid membership card for local-life commerce."""

__version__ = "0.1.0"
