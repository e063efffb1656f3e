"""Program sunset: suspension, refund campaigns, reconciliation."""
