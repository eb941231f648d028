"""`sample --seed WORD --steps S`: expansion rung by rung (not built yet)."""
