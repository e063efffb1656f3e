"""Plans, terms, cards, purchase and the free trial."""
