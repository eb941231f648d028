"""The encoder-decoder that expands rung k+1 into rung k (not built yet)."""
