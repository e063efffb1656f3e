"""Merchants, stores, curation, terminals."""
