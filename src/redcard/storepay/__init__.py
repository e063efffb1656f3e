"""持卡买单: pay a store's bill through the platform with the card holder's discount."""
