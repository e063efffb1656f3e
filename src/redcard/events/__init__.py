"""Members-only events, waitlist, check-in."""
