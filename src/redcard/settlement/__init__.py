"""Merchant statements, fees, payouts, clawbacks."""
