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

    @property
    def cli_message(self) -> str:
        """The message as the command line spells the option: `--top-p ...`."""
        return f"--{self.option.replace('_', '-')} {self.message}"


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
    temperature: float = 0.7  # 0: greedy; 0.7 with top-p 0.9: the frontier of docs/evaluation.md
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


NUCLEUS_FIRST = 256  # tokens a top-p draw looks at first; a row's whole vocabulary is sorted only where it falls short


def _not_finite() -> FloatingPointError:
    return FloatingPointError("the model produced probabilities that are not finite (NaN or inf weights?)")


def _nucleus(logits, top_p: float, generator):
    """One top-p draw per row (b,) from logits (b, V): the smallest set of likeliest tokens whose probability
    passes top_p, renormalized. A row whose nucleus lies within its NUCLEUS_FIRST likeliest tokens draws
    from those (a top-k and a draw over k tokens, where sorting and drawing over V cost several times
    more: bench/sample_speed.py); the others sort their whole vocabulary. Same distribution either way."""
    import torch

    total = torch.logsumexp(logits, dim=-1, keepdim=True)  # (b, 1)
    if not torch.isfinite(total).all():
        raise _not_finite()
    top, index = logits.topk(min(NUCLEUS_FIRST, logits.shape[-1]), dim=-1)  # (b, k) descending
    probs = (top - total).exp()
    before = probs.cumsum(dim=-1) - probs  # (b, k) the mass ahead of each token
    fits = before[:, -1] + probs[:, -1] > top_p  # (b,)
    out = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
    if fits.any():
        rows = fits.nonzero().squeeze(1)
        kept = probs[rows].masked_fill(before[rows] > top_p, 0.0)
        out[rows] = index[rows].gather(1, torch.multinomial(kept, 1, generator=generator)).squeeze(1)
    if not fits.all():
        rows = (~fits).nonzero().squeeze(1)
        ordered, order = logits[rows].sort(dim=-1, descending=True)
        p = ordered.softmax(dim=-1)
        p = p.masked_fill(p.cumsum(dim=-1) - p > top_p, 0.0)  # the first token is always kept
        out[rows] = order.gather(1, torch.multinomial(p, 1, generator=generator)).squeeze(1)
    return out


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
        return _nucleus(logits, decoding.top_p, generator)
    probs = logits.softmax(dim=-1)
    if not torch.isfinite(probs).all():
        raise _not_finite()
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
