"""`train launch config.yaml`: training with DeepSpeed (not built yet)."""
