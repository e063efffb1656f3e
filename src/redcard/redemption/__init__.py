"""Member codes, prepare/commit/undo at the till, 持卡买单."""
