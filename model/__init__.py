"""The model and its step format: everything `train`, `sample` and evaluation agree on, and nothing more.

Step k expands rung k into rung k - 1. `markers` (special tokens), `align` (how a rung sits in the rung
below), `pairs` (ladder pairs read from shards), `format` (a pair as token ids for each objective, and
model output back to a rung), `loss` (the per-token loss), `baseline` (copy-the-input), `export` (the
typed description of an export and `load`), `tokenizer`, `config` and `build` (the HF model). No training here.
"""

from model.build import build_model, parameter_count
from model.config import ModelConfig
from model.export import ExportInfo, ModelError, load, resolve
from model.format import StepFormat
from model.markers import marker, source
from model.tokenizer import load_tokenizer, train_tokenizer

__all__ = [
    "ExportInfo",
    "ModelConfig",
    "ModelError",
    "StepFormat",
    "build_model",
    "load",
    "load_tokenizer",
    "marker",
    "parameter_count",
    "resolve",
    "source",
    "train_tokenizer",
]
