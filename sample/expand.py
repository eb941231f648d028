"""Expanding a seed word rung by rung: the seed is the top rung, each step samples the rung below.

Every step is one batched `generate` call over all trajectories (with KV caching), so N samples cost
one call per step, not N. With `tree=B` each trajectory branches B ways at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.markers import source


@dataclass(frozen=True)
class Decoding:
    temperature: float = 1.0
    top_p: float = 0.95
    top_k: int = 0  # 0: no top-k cut
    max_new_tokens: int | None = None  # None: the limit recorded for each step at export
    use_cache: bool = True  # keys and values of earlier tokens kept between decoding steps


def expand(model, tokenizer, seed: str, steps: int, num: int = 1, tree: int = 1, decoding: Decoding = Decoding(),
           limits: dict[str, int] | None = None) -> list[list[str]]:
    """Trajectories from `seed` (taken as rung `steps`) down to rung 0: each a list of steps + 1 rungs,
    seed first and final text last. `num` independent samples, each branching `tree` ways per step."""
    import torch

    seed = " ".join(seed.split())
    if not seed:
        raise ValueError("the seed is empty")
    trajectories = [[seed] for _ in range(num)]
    for k in range(steps, 0, -1):
        batch = tokenizer([source(t[-1], k) for t in trajectories], return_tensors="pt", padding=True).to(model.device)
        limit = decoding.max_new_tokens or (limits or {}).get(str(k), 256)
        with torch.no_grad():
            out = model.generate(
                **batch, do_sample=True, temperature=decoding.temperature, top_p=decoding.top_p,
                top_k=decoding.top_k, max_new_tokens=limit, num_return_sequences=tree, use_cache=decoding.use_cache,
            )
        texts = [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]
        trajectories = [t + [texts[i * tree + b]] for i, t in enumerate(trajectories) for b in range(tree)]
    return trajectories
