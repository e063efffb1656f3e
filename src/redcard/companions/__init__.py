"""The companion card: one household companion on a primary member's paid card (issue 16)."""
