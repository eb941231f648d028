"""Evaluation of trained models side by side (`sample eval`): metrics as plain functions (`metrics`), the
measurements and their table and plot (`evaluate`). Depends on `model/` and the sampler, never on `train/`."""

from evaluation.evaluate import EvalSettings, run, table

__all__ = ["EvalSettings", "run", "table"]
