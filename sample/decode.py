"""How `sample` draws each token from the step decoder's constrained distribution, and the one definition
of which sampling options are valid (the CLI, the Python API, `sample eval` and the server all check
through `Decoding` and `check_count`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

# What a seeded draw computes, the decoder's forward and the draw: lossy archives record it, as their
# candidates are drawn again at unpack. 1: the HF forward and a sort (before 2026-12-03); 2: the T5 step
# (model.t5_step) and the rejection draw below. Raise it whenever a seed would draw other tokens.
SAMPLER = 2
LEXICON_MODES = ("phrases", "all", "off")  # Decoding.lexicon
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
    # words a step writes must be words of the training text (model.lexicon) in: "all", every rung (the
    # frontier of docs/evaluation.md); "phrases", the phrase rungs (whose word pieces every rung below keeps)
    lexicon: str = "all"

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
        if self.lexicon not in LEXICON_MODES:
            raise OptionError("lexicon", f"{self.lexicon!r} is none of {', '.join(LEXICON_MODES)}")


REJECTION_ROUNDS = 4  # top-p draws by rejection before a row's vocabulary is sorted


def _not_finite() -> FloatingPointError:
    return FloatingPointError("the model produced probabilities that are not finite (NaN or inf weights?)")


def _categorical(probs, generator):
    """(n, 1) one draw per row from probs (n, V) by the inverse of its cumulative sum: one cumsum and a
    binary search, where torch.multinomial costs several times more (bench/sample_speed.py). The draw
    is the first token whose cumulative sum reaches u x the total, u in (0, 1]: a token of probability
    0 never does first, so it is never drawn, whatever the rounding."""
    import torch

    cumulative = probs.cumsum(dim=-1)  # (n, V)
    total = cumulative[:, -1:]  # (n, 1): not finite where any probability is not
    if not torch.isfinite(total).all():
        raise _not_finite()
    u = 1 - torch.rand(probs.shape[0], 1, generator=generator, device=probs.device, dtype=probs.dtype)
    return torch.searchsorted(cumulative, u * total)


def _sorted_nucleus(probs, top_p: float, generator):
    """(n,) top-p draws by sorting each row: the likeliest tokens while the mass before them is at most top_p."""
    ordered, order = probs.sort(dim=-1, descending=True)
    ordered = ordered.masked_fill(ordered.cumsum(dim=-1) - ordered > top_p, 0.0)  # the first token is always kept
    return order.gather(1, _categorical(ordered, generator)).squeeze(1)


def _sample(probs, top_p: float, generator):
    """(b,) one draw per row from probs (b, V), from its nucleus when top_p < 1: the smallest set of likeliest
    tokens whose probability passes top_p, renormalized. A draw from the whole row lands in its nucleus
    with probability at least top_p and is kept when the mass of the tokens likelier than it is at most
    top_p (then it is a draw from the nucleus, exactly); rows that miss REJECTION_ROUNDS times sort."""
    import torch

    if top_p == 1:
        return _categorical(probs, generator).squeeze(1)
    out = torch.empty(probs.shape[0], dtype=torch.long, device=probs.device)
    rows = torch.arange(probs.shape[0], device=probs.device)
    for _ in range(REJECTION_ROUNDS):
        token = _categorical(probs, generator)  # (n, 1)
        # (n, V) 1.0 where a token is likelier than the draw, else 0.0: a float sign, where comparisons to
        # bool tensors cost several times more on CPU
        likelier = (probs - probs.gather(1, token)).sign_().clamp_(min=0)
        kept = (probs * likelier).sum(dim=-1) <= top_p  # (n,)
        out[rows[kept]] = token[kept, 0]
        if kept.all():
            return out
        rows, probs = rows[~kept], probs[~kept]
    out[rows] = _sorted_nucleus(probs, top_p, generator)
    return out


def draw(logits, decoding: Decoding, generator=None):
    """One token id per row (b,) from logits (b, V): temperature, then top-k, then top-p (nucleus)."""

    if decoding.temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / decoding.temperature
    if decoding.top_k:
        kth = logits.topk(min(decoding.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return _sample(logits.softmax(dim=-1), decoding.top_p, generator)
