"""Training tokens a step feeds, per config, so that compared models get equal training tokens.

A step feeds micro_batch_size x gradient_accumulation pairs; what a pair feeds is measured as training
counts it (model.loss.tokens_in: source and target tokens, or a decoder-only model's one sequence,
after truncation) over `--pairs` training pairs of the config's task, tokenized with `--tokenizer`.
Prints each config's tokens per step and the max_steps that matches the reference run's training tokens.
Usage: python bench/equal_tokens.py --reference runs/cpu-demo configs/oneshot.yaml configs/ar.yaml configs/judge.yaml
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from transformers import AutoTokenizer

from model.format import collate
from model.loss import tokens_in
from model.pairs import read_pairs, shards
from textladder.config import load
from train.config import TrainConfig


def tokens_per_pair(cfg: TrainConfig, tok, count: int) -> float:
    pairs = list(itertools.islice(read_pairs(shards(cfg.data.path, "train"), cfg.data.task), count))
    batches = [pairs[i : i + 16] for i in range(0, len(pairs), 16)]
    return sum(tokens_in(collate(b, tok, cfg.step_format), cfg.model.causal) for b in batches) / len(pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("configs", nargs="+", type=Path)
    ap.add_argument("--reference", type=Path, default=Path("runs/cpu-demo"), help="a finished run")
    ap.add_argument("--tokenizer", type=Path, help="default: the reference run's")
    ap.add_argument("--pairs", type=int, default=4000)
    args = ap.parse_args()
    records = [json.loads(line) for line in (args.reference / "metrics.jsonl").read_text().splitlines() if line]
    seen = max(r.get("tokens_seen", 0) for r in records)
    tok = AutoTokenizer.from_pretrained(args.tokenizer or args.reference / "tokenizer")
    print(f"{args.reference}: {seen} training tokens")
    for path in args.configs:
        cfg = load(TrainConfig, path)
        per_step = tokens_per_pair(cfg, tok, args.pairs) * cfg.deepspeed.micro_batch_size
        per_step *= cfg.deepspeed.gradient_accumulation
        print(
            f"{path}: {per_step:.0f} tokens a step; {seen / per_step:.0f} steps for {seen} tokens "
            f"(now max_steps {cfg.schedule.max_steps})"
        )


if __name__ == "__main__":
    main()
