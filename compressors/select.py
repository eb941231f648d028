"""How a compressor picks units (sentences, phrases, words) from their scores.

Temperature 0 takes units best score first. Above 0 it draws an order without replacement in
proportion to score^(1/T) (Gumbel top-k: sort log-score/T plus Gumbel noise), one noise draw per
variant, as image diffusion draws noise.
"""

from __future__ import annotations

import numpy as np


class CannotCompress(ValueError):
    """The text cannot give a strictly shorter rung under the constraints; `reason` is the manifest key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def rank_order(scores: np.ndarray, temperature: float, rng: np.random.Generator | None) -> list[int]:
    """Indices of `scores` (n,), best first at temperature 0, else a score-weighted random order drawn
    from `rng` (which temperature 0 never touches: it may be None there).

    A list of ints: callers walk it in Python, where numpy integers are slow to index with."""
    if temperature <= 0:
        return (-scores).argsort(kind="stable").tolist()
    keys = np.log(np.maximum(scores, 1e-12))
    if temperature != 1.0:  # the default: dividing by it changes nothing
        keys /= temperature
    keys += rng.gumbel(size=len(scores))
    return (-keys).argsort(kind="stable").tolist()


def greedy_fit(
    order: list[int], lengths: list[int], budget: int, min_count: int = 1, max_count: int | None = None
) -> list[int]:
    """Take units in `order` while their lengths fit in `budget`; then top up to `min_count` units.

    Returns the chosen indices sorted, so chosen units keep their order in the text.
    """
    max_count = len(order) if max_count is None else max_count
    chosen, total = [], 0
    for i in order:
        if len(chosen) < max_count and total + lengths[i] <= budget:
            chosen.append(i)
            total += lengths[i]
    for i in order:
        if len(chosen) >= min(min_count, max_count):
            break
        if i not in chosen:
            chosen.append(i)
    return sorted(chosen)
