"""`train launch config.yaml`: training with DeepSpeed on the step format of `model/`; `train show`: a run's losses."""
