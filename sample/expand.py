"""Expanding a seed word rung by rung: the seed is the top rung, each step samples the rung below.

Every step is one batched `generate` call over all trajectories (with KV caching), so N samples cost
one call per step, not N. With `tree=B` each trajectory branches B ways at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.markers import prompt_ids, source


@dataclass(frozen=True)
class Decoding:
    temperature: float = 1.0
    top_p: float = 0.95
    top_k: int = 0  # 0: no top-k cut
    max_new_tokens: int | None = None  # None: the limit recorded for each step at export
    use_cache: bool = True  # keys and values of earlier tokens kept between decoding steps


def _inputs(model, tokenizer, rungs: list[str], step: int):
    """Encoder inputs, or a decoder-only model's prompts (left padded), for expanding `rungs` at `step`."""
    import torch

    if model.config.is_encoder_decoder:
        return tokenizer([source(r, step) for r in rungs], return_tensors="pt", padding=True)
    prompts = [prompt_ids(tokenizer, r, step, 10**6) for r in rungs]
    width = max(map(len, prompts))
    pad = tokenizer.pad_token_id
    return {"input_ids": torch.tensor([[pad] * (width - len(p)) + p for p in prompts]),
            "attention_mask": torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])}


def step_once(model, tokenizer, rungs: list[str], step: int, decoding: Decoding, limit: int, branches: int = 1) -> list[str]:
    """One sampled expansion of each rung (`branches` of each, grouped by rung), as one batched generate call."""
    import torch

    batch = {k: v.to(model.device) for k, v in _inputs(model, tokenizer, rungs, step).items()}
    positions = getattr(model.config, "n_positions", None)  # a decoder-only model's prompt and text share them
    if positions and not model.config.is_encoder_decoder:
        limit = max(1, min(limit, positions - batch["input_ids"].shape[1]))
    with torch.no_grad():
        out = model.generate(
            **batch, do_sample=True, temperature=decoding.temperature, top_p=decoding.top_p, top_k=decoding.top_k,
            max_new_tokens=limit, num_return_sequences=branches, use_cache=decoding.use_cache,
            pad_token_id=tokenizer.pad_token_id,
        )
    if not model.config.is_encoder_decoder:
        out = out[:, batch["input_ids"].shape[1]:]  # a decoder-only model returns its prompt too
    return [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]


def expand(model, tokenizer, seed: str, steps: int, num: int = 1, tree: int = 1, decoding: Decoding = Decoding(),
           limits: dict[str, int] | None = None, oneshot: bool = False) -> list[list[str]]:
    """Trajectories from `seed` (taken as rung `steps`) down to rung 0: each a list of steps + 1 rungs,
    seed first and final text last. `num` independent samples, each branching `tree` ways per step.
    A one-shot model (or the autoregressive baseline) writes rung 0 in one step: [seed, text]."""
    return expand_seeds(model, tokenizer, [seed], steps, num, tree, decoding, limits, oneshot)[0]


def expand_seeds(model, tokenizer, seeds: list[str], steps: int, num: int = 1, tree: int = 1,
                 decoding: Decoding = Decoding(), limits: dict[str, int] | None = None,
                 oneshot: bool = False) -> list[list[list[str]]]:
    """`expand` for several seeds at once, all in one batch per step: the trajectories of each seed."""
    seeds = [" ".join(s.split()) for s in seeds]
    if not all(seeds):
        raise ValueError("the seed is empty")
    trajectories = [[seed] for seed in seeds for _ in range(num)]
    for k in ([steps] if oneshot else range(steps, 0, -1)):
        limit = decoding.max_new_tokens or (limits or {}).get(str(k), 256)
        texts = step_once(model, tokenizer, [t[-1] for t in trajectories], k, decoding, limit, tree)
        trajectories = [t + [texts[i * tree + b]] for i, t in enumerate(trajectories) for b in range(tree)]
    per_seed = len(trajectories) // len(seeds)
    return [trajectories[i * per_seed : (i + 1) * per_seed] for i in range(len(seeds))]
