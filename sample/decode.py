"""How `sample` draws each token from the step decoder's constrained distribution, and the one definition
of which sampling options are valid (the CLI, the Python API, `sample eval` and the server all check
through `Decoding` and `check_count`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_ROWS = 10_000  # samples one call may ask for (num x tree^steps): the texts are held in memory


class OptionError(ValueError):
    """A sampling option out of its range: `option` names it, as the API spells it (top_p)."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


def _number(option: str, value, kind: type) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        raise OptionError(option, f"{value!r} is not {'a number' if kind is float else 'a whole number'}")
    if kind is float and not math.isfinite(value):
        raise OptionError(option, f"{value!r} is not a finite number")


def check_count(option: str, value, least: int = 1, most: int | None = None) -> None:
    """A whole-number option between `least` and `most` (both included)."""
    _number(option, value, int)
    if value < least or (most is not None and value > most):
        span = f"from {least}" + (f" to {most}" if most is not None else " up")
        raise OptionError(option, f"{value} is out of range: {span}")


@dataclass(frozen=True)
class Decoding:
    temperature: float = 0.8  # 0: greedy
    top_p: float = 0.9  # nucleus: the smallest set of tokens holding this much probability; 1: all
    top_k: int = 0  # 0: no top-k cut
    max_new_tokens: int | None = None  # tokens per step; None: enough for the step's length, at least export's limit

    def __post_init__(self):
        _number("temperature", self.temperature, float)
        if self.temperature < 0:
            raise OptionError("temperature", f"{self.temperature} is below 0 (0 is greedy)")
        _number("top_p", self.top_p, float)
        if not 0 < self.top_p <= 1:
            raise OptionError("top_p", f"{self.top_p} is out of range: above 0, at most 1")
        check_count("top_k", self.top_k, least=0)
        if self.max_new_tokens is not None:
            check_count("max_new_tokens", self.max_new_tokens)


def draw(logits, decoding: Decoding, generator=None):
    """One token id per row (b,) from logits (b, V): temperature, then top-k, then top-p (nucleus)."""
    import torch

    if decoding.temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / decoding.temperature
    if decoding.top_k:
        kth = logits.topk(min(decoding.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if decoding.top_p < 1:
        ordered, order = logits.sort(dim=-1, descending=True)
        probs = ordered.softmax(dim=-1)
        drop = probs.cumsum(dim=-1) - probs > decoding.top_p  # the first token is always kept
        logits = logits.scatter(-1, order, ordered.masked_fill(drop, float("-inf")))
    probs = logits.softmax(dim=-1)
    if not torch.isfinite(probs).all():
        raise FloatingPointError("the model produced probabilities that are not finite (NaN or inf weights?)")
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
