"""Training pairs from ladder shards: (rung k -> rung k-1) over every chunk, variant and step.

The Parquet shards are streamed, never loaded whole. The order is a pure function of (seed, epoch),
so a resumed run skips exactly the micro-batches it had consumed and sees the same data after.
Data-parallel ranks take every world-th micro-batch of the one global stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from model.markers import prompt_ids, source


class DataError(ValueError):
    pass


@dataclass(frozen=True)
class Pair:
    step: int  # k: expand rung k into rung k - 1
    source: str  # rung k
    target: str  # rung k - 1


def ladder_settings(path: str | Path) -> dict:
    """The finished build's manifest: its ladder settings say how many steps there are."""
    manifest = Path(path) / "manifest.json"
    if not manifest.exists():
        raise DataError(f"{path}: no manifest.json: not a finished `datagen build` folder (data.path)")
    return json.loads(manifest.read_text(encoding="utf-8"))


def shards(path: str | Path, split: str) -> list[Path]:
    files = sorted((Path(path) / "data" / split).glob("*.parquet"))
    if not files:
        raise DataError(f"{path}: no {split} shards under data/{split}/ (data.path)")
    return files


def read_pairs(files: list[Path], task: str = "ladder") -> Iterator[Pair]:
    """Every pair of the shards in file order: per chunk and variant, steps 1..L (task ladder), the top
    rung to the text (oneshot), or per chunk the text alone, as step 0 (text)."""
    import pyarrow.parquet as pq

    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(columns=["text", "ladders"], batch_size=256):
            for text, ladders in zip(batch.column("text").to_pylist(), batch.column("ladders").to_pylist()):
                if task == "text":
                    yield Pair(0, "", text)
                    continue
                for ladder in ladders:
                    rungs = [text, *ladder]
                    if task == "oneshot":
                        yield Pair(len(ladder), ladder[-1], text)
                        continue
                    for k in range(1, len(rungs)):
                        yield Pair(k, rungs[k], rungs[k - 1])


def shuffled(pairs: Iterator[Pair], buffer: int, rng: np.random.Generator) -> Iterator[Pair]:
    """A streaming shuffle: keep `buffer` pairs, emit a random one as each new one comes in."""
    pool: list[Pair] = []
    for p in pairs:
        if len(pool) < buffer:
            pool.append(p)
            continue
        i = int(rng.integers(len(pool)))
        pool[i], p = p, pool[i]
        yield p
    rng.shuffle(pool)
    yield from pool


def train_batches(files: list[Path], batch_size: int, step_weights: list[float], buffer: int, seed: int,
                  rank: int = 0, world: int = 1, skip: int = 0, task: str = "ladder") -> Iterator[list[Pair]]:
    """This rank's micro-batches, endlessly, epoch after epoch, after skipping `skip` of them.

    A micro-batch holds pairs of one step (their lengths are alike, so little is padding), taken in the
    shuffled order. Step k's pairs are kept with probability step_weights[k-1] / max(step_weights).
    """
    weights = np.asarray(step_weights, dtype=float) / max(step_weights) if step_weights else None
    epoch, index = 0, 0
    while True:
        rng = np.random.default_rng([seed, epoch])
        stream = read_pairs(files, task)
        if weights is not None:
            stream = (p for p in stream if p.step > len(weights) or rng.random() < weights[p.step - 1])
        pending: dict[int, list[Pair]] = {}
        for p in shuffled(stream, buffer, rng):
            bucket = pending.setdefault(p.step, [])
            bucket.append(p)
            if len(bucket) == batch_size:
                if index % world == rank and index // world >= skip:
                    yield bucket
                index += 1
                pending[p.step] = []
        if index < world:
            raise DataError(f"fewer than {world} micro-batches of {batch_size} pairs in the training shards")
        epoch += 1


def val_batches(files: list[Path], batch_size: int, max_batches: int, task: str = "ladder") -> dict[int, list[list[Pair]]]:
    """Validation batches for each step, in file order: at most `max_batches` per step."""
    by_step: dict[int, list[Pair]] = {}
    for p in read_pairs(files, task):
        pairs = by_step.setdefault(p.step, [])
        if len(pairs) < batch_size * max_batches:
            pairs.append(p)
    return {k: [ps[i : i + batch_size] for i in range(0, len(ps), batch_size)] for k, ps in sorted(by_step.items())}


def collate(batch: list[Pair], tokenizer, max_source: int, max_target: int, causal: bool = False) -> dict:
    """Tokenized, padded tensors: input_ids/attention_mask (B, S), labels (B, T) with -100 where no loss is
    taken, steps (B,). A decoder-only model gets one sequence, prompt then target, with labels on the target."""
    import torch

    if causal:
        return _collate_causal(batch, tokenizer, max_source, max_target)
    enc = tokenizer([source(p.source, p.step) for p in batch], max_length=max_source, truncation=True,
                    padding=True, return_tensors="pt")
    tgt = tokenizer([p.target for p in batch], max_length=max_target, truncation=True, padding=True,
                    return_tensors="pt")
    labels = tgt["input_ids"].masked_fill(tgt["attention_mask"] == 0, -100)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels,
            "steps": torch.tensor([p.step for p in batch])}


def _collate_causal(batch: list[Pair], tokenizer, max_source: int, max_target: int) -> dict:
    import torch

    rows, labels = [], []
    for p in batch:
        prompt = prompt_ids(tokenizer, p.source, p.step, max_source)
        target = tokenizer(p.target, max_length=max_target, truncation=True)["input_ids"]
        rows.append(prompt + target)
        labels.append([-100] * len(prompt) + target)
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    return {
        "input_ids": torch.tensor([r + [pad] * (width - len(r)) for r in rows]),
        "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
        "labels": torch.tensor([y + [-100] * (width - len(y)) for y in labels]),
        "steps": torch.tensor([p.step for p in batch]),
    }
