"""The model's config: an HF encoder-decoder (T5 or BART style) by its sizes, or a checkpoint to start from.

`gpt2` builds a decoder-only model instead: the autoregressive baseline and the judge of evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ModelConfig:
    arch: Literal["t5", "bart", "gpt2"] = "t5"
    d_model: int = 256
    layers: int = 4  # encoder layers; the decoder has as many (gpt2: its layers)
    heads: int = 4
    d_ff: int = 1024
    dropout: float = 0.1
    max_positions: int = 512  # BART's and GPT-2's learned positions; T5's relative positions need none
    init_from: str | None = None  # an HF model folder to start from instead of random weights

    @property
    def causal(self) -> bool:
        return self.arch == "gpt2"

    def validate(self) -> None:
        if self.d_model % self.heads:
            raise ValueError(f"model.d_model={self.d_model} must be a multiple of model.heads={self.heads}")
        for key in ("d_model", "layers", "heads", "d_ff", "max_positions"):
            if getattr(self, key) < 1:
                raise ValueError(f"model.{key} must be positive")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")
