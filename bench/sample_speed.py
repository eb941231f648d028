"""Sampling speed on the cpu-demo model: 16 trajectories as one batch per step against 16 single calls.

Same process, same seed word, same decoding; each side is timed REPEATS times and the best kept. Also
ms per step per sample with the KV cache on and off.
Usage: python bench/sample_speed.py [--model runs/cpu-demo] [--seed AI] [--steps 4]
"""

from __future__ import annotations

import argparse
import time

import torch

from sample import Decoding, expand, load, resolve

REPEATS = 3


def best_time(fn) -> float:
    times = []
    for _ in range(REPEATS):
        torch.manual_seed(0)  # the same draws, so both sides generate alike
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="runs/cpu-demo")
    p.add_argument("--seed", default="AI")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--num", type=int, default=16)
    args = p.parse_args()
    model, tok, info = load(resolve(args.model), "cpu")
    dec = Decoding()
    batched = best_time(lambda: expand(model, tok, info, args.seed, args.steps, num=args.num, decoding=dec))
    single = best_time(lambda: [expand(model, tok, info, args.seed, args.steps, num=1, decoding=dec)
                                for _ in range(args.num)])
    print(f"{args.num} trajectories, seed {args.seed!r}, {args.steps} steps, {info.objective}, "
          f"{torch.get_num_threads()} threads")
    print(f"batched (--num {args.num}):     {args.num / batched:6.2f} trajectories/s")
    print(f"{args.num} sequential calls:     {args.num / single:6.2f} trajectories/s")
    print(f"batched / sequential: {single / batched:.2f}x")
    # ms per step per sample, one sample, cache on and off
    for cache in (True, False):
        fixed = Decoding(max_new_tokens=64, use_cache=cache)
        t = best_time(lambda: expand(model, tok, info, args.seed, args.steps, num=1, decoding=fixed))
        print(f"KV cache {'on ' if cache else 'off'}: {t * 1000 / args.steps:7.1f} ms per step per sample (64 new tokens a step at most)")


if __name__ == "__main__":
    main()
