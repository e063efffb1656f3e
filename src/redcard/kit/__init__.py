"""Shared helpers only (no HTTP, no tables of their own): money (fen, rounding, typed
amounts), time (the one clock), ids, sql (dialect bridges), rawpg (the asyncpg fast path)."""
