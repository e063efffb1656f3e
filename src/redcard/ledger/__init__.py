"""Double-entry, append-only journal in integer fen."""
