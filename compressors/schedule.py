"""Length schedules: how many words each rung of a ladder aims at, like a diffusion noise schedule.

A schedule maps a text of n words and L levels to targets for rungs 1..L. Whatever the shape, targets
strictly decrease, rung L is one word, and rung k keeps room for the L - k rungs above it.
"""

from __future__ import annotations

from collections.abc import Callable


def geometric(n: int, levels: int) -> list[float]:
    """Each rung keeps the same fraction of the one below: n^(1 - k/L). Gentle where text is long."""
    return [n ** (1 - k / levels) for k in range(1, levels + 1)]


def linear(n: int, levels: int) -> list[float]:
    """Each rung drops the same number of words."""
    return [n - (n - 1) * k / levels for k in range(1, levels + 1)]


SCHEDULES: dict[str, Callable[[int, int], list[float]]] = {"geometric": geometric, "linear": linear}


def targets(n: int, levels: int, schedule: str = "geometric") -> list[int]:
    """Word targets for rungs 1..levels of an n-word text (needs n > levels)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
    if n <= levels:
        raise ValueError(f"a text of {n} words cannot make {levels} strictly shorter rungs")
    raw = SCHEDULES[schedule](n, levels)
    out, previous = [], n
    for k, t in enumerate(raw, start=1):
        room = levels - k + 1  # rung k needs at least one word per rung from k to L
        t = max(room, min(round(t), previous - 1))
        out.append(t)
        previous = t
    out[-1] = 1
    return out
