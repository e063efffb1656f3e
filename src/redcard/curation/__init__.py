"""Curation: member reviews tied to real purchases, the community score, in-person
inspections and the 精选 badge (docs/curation.md)."""
