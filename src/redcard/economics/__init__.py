"""Programme economics: what the card is worth to members, merchants and the operator."""
