"""The training stream: each data-parallel rank reads its own part of the ladder shards, shuffles it and
groups it by step into micro-batches, endlessly, from a position it can save and resume.

The shards are cut once into *units*, contiguous row ranges of their row groups (read from the Parquet
footers only). Every epoch permutes the units with (seed, epoch) and rank r takes every world-th one,
so ranks read disjoint rows and I/O does not grow with the number of GPUs. A rank's rows are read in
blocks of `shuffle_buffer` pairs; a block is shuffled with a generator seeded by (seed, epoch, rank,
block), so the order is a pure function of those numbers. The position (epoch, block, pairs of the
block taken, the pairs waiting in partial micro-batches) is the stream's whole state: a resumed run
reads from there, with no replay of what was consumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.pairs import DataError, Pair, damaged, parquet_file
from model.task import Task

UNITS_PER_RANK = 8  # units are cut small enough that every rank gets several, and epochs differ in order


@dataclass(frozen=True)
class Unit:
    file: str
    row_group: int
    start: int  # first row within the row group
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


def plan_units(files: list[str] | list[Path], world: int) -> list[Unit]:
    """Row ranges of the shards' row groups, from the footers alone, at least UNITS_PER_RANK per rank."""
    groups = []
    for f in files:
        meta = parquet_file(f).metadata
        groups += [(str(f), g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups)]
    total = sum(n for *_, n in groups)
    if total < world:
        raise DataError(f"{total} training rows for {world} data-parallel ranks: every rank needs rows to read")
    size = max(1, total // (world * UNITS_PER_RANK))
    return [Unit(f, g, a, min(a + size, n)) for f, g, n in groups for a in range(0, n, size)]


@dataclass
class StreamState:
    epoch: int = 0
    block: int = 0  # block of this epoch being read
    taken: int = 0  # pairs of that block already put into micro-batches
    pending: dict[str, list[list]] = field(default_factory=dict)  # step -> [[step, source, target], ...] waiting

    def to_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "block": self.block,
            "taken": self.taken,
            "pending": {k: [list(p) for p in v] for k, v in self.pending.items()},
        }


class RowReader:
    """Rows [a, b) of a sequence of units, reading each row group once while consecutive blocks need it."""

    def __init__(self, units: list[Unit]):
        self.units, self.bytes_read = units, 0
        self.starts = np.cumsum([0] + [u.rows for u in units])  # (n + 1,)
        self._cached: tuple[tuple[str, int], object] | None = None

    def _group(self, unit: Unit):
        key = (unit.file, unit.row_group)
        if self._cached is None or self._cached[0] != key:
            f = parquet_file(unit.file)
            self.bytes_read += f.metadata.row_group(unit.row_group).total_byte_size
            with damaged(unit.file):
                self._cached = (key, f.read_row_group(unit.row_group, columns=["text", "ladders"]))
        return self._cached[1]

    def rows(self, a: int, b: int) -> Iterator[tuple[str, list[list[str]]]]:
        first = max(int(np.searchsorted(self.starts, a, side="right")) - 1, 0)
        for i in range(first, len(self.units)):
            if self.starts[i] >= b:
                return
            lo, hi = max(a, self.starts[i]), min(b, self.starts[i + 1])
            if lo < hi:
                u = self.units[i]
                part = self._group(u).slice(u.start + lo - self.starts[i], hi - lo)
                yield from zip(part.column("text").to_pylist(), part.column("ladders").to_pylist())


class TrainStream:
    """This rank's micro-batches, endlessly, from `state` (a StreamState dict saved in a checkpoint).

    A micro-batch holds pairs of one step (their lengths are alike, so little is padding). Step k's pairs
    are kept with probability step_weights[k-1] / max(step_weights)."""

    def __init__(
        self,
        files: list[str] | list[Path],
        batch_size: int,
        step_weights: list[float],
        buffer: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        task: str = "ladder",
        pairs_per_row: int = 1,
        state: dict | None = None,
    ):
        self.units = plan_units(files, world)
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.pairs = Task(task).pairs
        self.weights = np.asarray(step_weights, dtype=float) / max(step_weights) if step_weights else None
        self.block_rows = max(1, buffer // max(pairs_per_row, 1))
        self.state = StreamState(**state) if state else StreamState()
        self.reader: RowReader | None = None

    def _mine(self, epoch: int) -> list[Unit]:
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.units))
        return [self.units[i] for i in order[self.rank :: self.world]]

    def _block(self, epoch: int, block: int) -> list[Pair]:
        """The pairs of one block in their shuffled order, filtered by the step weights."""
        rng = np.random.default_rng([self.seed, epoch, self.rank, block])
        start = block * self.block_rows
        pairs = [
            p for text, ladders in self.reader.rows(start, start + self.block_rows) for p in self.pairs(text, ladders)
        ]
        if self.weights is not None:
            keep = rng.random(len(pairs))
            pairs = [p for p, u in zip(pairs, keep) if p.step > len(self.weights) or u < self.weights[p.step - 1]]
        return [pairs[i] for i in rng.permutation(len(pairs))]

    def __iter__(self) -> Iterator[list[Pair]]:
        s = self.state
        while True:
            self.reader = RowReader(self._mine(s.epoch))
            blocks = math.ceil(self.reader.starts[-1] / self.block_rows)
            whole, yielded = s.block == 0 and s.taken == 0, False
            while s.block < blocks:
                pairs = self._block(s.epoch, s.block)
                while s.taken < len(pairs):
                    p = pairs[s.taken]
                    s.taken += 1
                    bucket = s.pending.setdefault(str(p.step), [])
                    bucket.append([p.step, p.source, p.target])
                    if len(bucket) == self.batch_size:
                        s.pending[str(p.step)] = []  # the state is whole before the batch leaves
                        yielded = True
                        yield [Pair(*row) for row in bucket]
                s.block, s.taken = s.block + 1, 0
            if whole and not yielded:
                raise DataError(
                    f"rank {self.rank}: a whole epoch of its training shards holds fewer than "
                    f"{self.batch_size} pairs of any step (deepspeed.micro_batch_size)"
                )
            s.epoch, s.block = s.epoch + 1, 0


def pairs_per_row(settings: dict, task: str) -> int:
    """Pairs one shard row gives: variants x levels for `ladder`, variants for `oneshot`, 1 for `text`."""
    ladder = settings["config"]["ladder"]
    return Task(task).pairs_per_row(ladder["variants"], ladder["levels"])
