"""The copy-the-input baseline: a model that can only repeat tokens of the input it expands.

It predicts each target token with probability (1 - eps) * (share of that token among the input's
tokens, end token and sentinels included) + eps / vocabulary size, eps chosen per step to minimize its
loss: the strongest model of that family. It scores the same target tokens as the model (the whole
rung for `rewrite`, the gaps and their sentinels for `infill`), so a trained model must beat it to have
learned more than copying.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from model.format import Encoded
from model.markers import marker

EPS_GRID = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9])


def copy_loss(encoded_by_step: dict[int, list[Encoded]], tokenizer) -> dict[int, float]:
    """Per step, the baseline's mean loss in nats per target token, at its best eps."""
    return {k: total / tokens for k, (total, tokens) in copy_totals(encoded_by_step, tokenizer).items()}


def copy_totals(encoded_by_step: dict[int, list[Encoded]], tokenizer) -> dict[int, tuple[float, int]]:
    """Per step, (the baseline's loss summed over target tokens in nats, target tokens), at its best eps."""
    out = {}
    vocab = len(tokenizer)
    for step, encoded in encoded_by_step.items():
        markers = set(tokenizer.convert_tokens_to_ids([marker(step)]))  # the step marker is no text to copy
        shares = []  # per target token: its share among the input's tokens
        for e in encoded:
            src = [t for t in e.source if t not in markers]
            counts = Counter(src)
            shares.extend(counts[t] / max(len(src), 1) for t in e.target)
        shares_arr = np.asarray(shares)[None, :]  # (1, tokens)
        losses = -np.log((1 - EPS_GRID[:, None]) * shares_arr + EPS_GRID[:, None] / vocab).sum(axis=1)
        out[step] = (float(losses.min()), len(shares))
    return out
