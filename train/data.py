"""The training stream: ladder pairs (model.pairs) shuffled, grouped by step into micro-batches, endlessly.

The order is a pure function of (seed, epoch), so a resumed run skips exactly the micro-batches it had
consumed and sees the same data after. Data-parallel ranks take every world-th micro-batch of the one
global stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from model.pairs import DataError, Pair, read_pairs


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
