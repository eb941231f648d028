"""The encoder-decoder that expands rung k+1 into rung k: tokenizer, step markers, model. No training here."""

from model.build import build_model, parameter_count
from model.config import ModelConfig
from model.markers import marker, source
from model.tokenizer import load_tokenizer, train_tokenizer

__all__ = ["ModelConfig", "build_model", "load_tokenizer", "marker", "parameter_count", "source", "train_tokenizer"]
