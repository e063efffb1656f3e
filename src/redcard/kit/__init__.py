"""Shared helpers only: money, time, ids, idempotency, pagination."""
