"""Expanding a seed rung by rung: the seed is the top rung, each step samples the rung below.

Every step is one batched pass over all trajectories (sample.decode), so N samples cost one pass per
step, not N. With `tree=B` each trajectory branches B ways at every step. Rungs come back as
`model.align.Rung`: text that also knows which of its spans were kept from the rung above.
"""

from __future__ import annotations

from model.align import Rung
from model.export import ExportInfo
from model.format import source_ids, to_rung
from sample.decode import Decoding, sample_causal, sample_seq2seq

__all__ = ["Decoding", "expand", "expand_seeds", "step_once"]


def step_once(model, tok, info: ExportInfo, rungs: list[str], step: int, decoding: Decoding,
              branches: int = 1, generator=None) -> list[Rung]:
    """One sampled expansion of each rung at `step` (`branches` of each, grouped by rung), as one batch."""
    fmt = info.step_format
    uppers = [r for r in rungs for _ in range(branches)]
    encoded = [source_ids(tok, fmt, r, step) for r in uppers]
    limit = decoding.max_new_tokens or info.limit(step)
    if fmt.causal:
        written = sample_causal(model, tok, [ids for ids, _ in encoded], decoding, limit)
    else:
        written = sample_seq2seq(model, tok, fmt, [ids for ids, _ in encoded], [g for _, g in encoded], decoding,
                                 limit, generator)
    return [to_rung(tok, fmt, upper, ids) for upper, ids in zip(uppers, written)]


def expand(model, tok, info: ExportInfo, seed: str, steps: int, num: int = 1, tree: int = 1,
           decoding: Decoding = Decoding(), generator=None) -> list[list[Rung]]:
    """Trajectories from `seed` (taken as rung `steps`) down to rung 0: each a list of steps + 1 rungs,
    seed first and final text last. `num` independent samples, each branching `tree` ways per step.
    A one-shot model (or the autoregressive baseline) writes rung 0 in one step: [seed, text]."""
    return expand_seeds(model, tok, info, [seed], steps, num, tree, decoding, generator)[0]


def expand_seeds(model, tok, info: ExportInfo, seeds: list[str], steps: int, num: int = 1, tree: int = 1,
                 decoding: Decoding = Decoding(), generator=None) -> list[list[list[Rung]]]:
    """`expand` for several seeds at once, all in one batch per step: the trajectories of each seed."""
    seeds = [" ".join(s.split()) for s in seeds]
    if not all(seeds):
        raise ValueError("the seed is empty")
    trajectories = [[Rung(seed)] for seed in seeds for _ in range(num)]
    for k in ([steps] if info.task == "oneshot" else range(steps, 0, -1)):
        rungs = step_once(model, tok, info, [t[-1] for t in trajectories], k, decoding, tree, generator)
        trajectories = [t + [rungs[i * tree + b]] for i, t in enumerate(trajectories) for b in range(tree)]
    per_seed = len(trajectories) // len(seeds)
    return [trajectories[i * per_seed : (i + 1) * per_seed] for i in range(len(seeds))]
