"""The training stream: ranks read disjoint rows, and a stream resumed from its saved state goes on exactly
as the uninterrupted one, without reading what came before."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from model.pairs import DataError, shards
from train.data import TrainStream, plan_units


@pytest.fixture(scope="module")
def ladders(small_ladders) -> Path:
    return small_ladders


def stream(ladders, rank=0, world=1, state=None, batch=4, buffer=60) -> TrainStream:
    return TrainStream(
        shards(ladders, "train"),
        batch,
        [],
        buffer,
        seed=3,
        rank=rank,
        world=world,
        task="ladder",
        pairs_per_row=6,
        state=state,
    )


def rows_of_epoch(s: TrainStream, epoch: int) -> list[tuple[str, int]]:
    return [(u.file, u.row_group, r) for u in s._mine(epoch) for r in range(u.start, u.stop)]


@pytest.mark.parametrize("world", [1, 2, 3])
def test_ranks_read_disjoint_rows_that_cover_the_shards_once(ladders, world):
    import pyarrow.parquet as pq

    total = sum(pq.ParquetFile(f).metadata.num_rows for f in shards(ladders, "train"))
    for epoch in (0, 1):
        seen = Counter(r for rank in range(world) for r in rows_of_epoch(stream(ladders, rank, world), epoch))
        assert len(seen) == total and set(seen.values()) == {1}
    assert rows_of_epoch(stream(ladders, 0, world), 0) != rows_of_epoch(stream(ladders, 0, world), 1)


@pytest.mark.parametrize("taken", [0, 1, 7, "past an epoch"])
def test_resume_from_saved_state_continues_exactly(ladders, taken):
    """Resumed anywhere, also past an epoch boundary: the state holds epoch, block and pending pairs."""
    import pyarrow.parquet as pq

    if taken == "past an epoch":  # an epoch holds at most rows x 6 pairs, 4 a micro-batch
        taken = sum(pq.ParquetFile(f).metadata.num_rows for f in shards(ladders, "train")) * 6 // 4 + 3
    whole = stream(ladders)
    it = iter(whole)
    first = list(itertools.islice(it, taken))
    saved = json.loads(json.dumps(whole.state.to_dict()))  # it is saved as JSON in the checkpoint
    after = list(itertools.islice(it, 30))
    resumed = stream(ladders, state=saved)
    assert list(itertools.islice(iter(resumed), 30)) == after
    assert len(first) == taken
    if taken > 10:
        assert saved["epoch"] >= 1, "the test should cross an epoch boundary"
    # no replay: its first batch costs at most the two row groups its block may straddle
    again = stream(ladders, state=saved)
    next(iter(again))
    assert again.reader.bytes_read <= 2 * max_group_bytes(ladders)


def max_group_bytes(ladders) -> int:
    import pyarrow.parquet as pq

    metas = [pq.ParquetFile(f).metadata for f in shards(ladders, "train")]
    return max(m.row_group(i).total_byte_size for m in metas for i in range(m.num_row_groups))


def test_ranks_get_different_batches_and_every_batch_is_one_step(ladders):
    a = list(itertools.islice(iter(stream(ladders, 0, 2)), 10))
    b = list(itertools.islice(iter(stream(ladders, 1, 2)), 10))
    assert a != b
    for batch in a + b:
        assert len(batch) == 4 and len({p.step for p in batch}) == 1


def test_too_few_rows_for_the_ranks_is_an_error(ladders):
    import pyarrow.parquet as pq

    total = sum(pq.ParquetFile(f).metadata.num_rows for f in shards(ladders, "train"))
    with pytest.raises(DataError, match="data-parallel ranks"):
        plan_units(shards(ladders, "train"), total + 1)
    with pytest.raises(DataError, match="micro_batch_size"):
        next(iter(stream(ladders, batch=10**6)))


def test_a_build_is_read_through_fsspec_urls(ladders):
    """data.path may be any fsspec URL (s3://, gs://, hf://...): the build copied to fsspec's in-memory
    filesystem gives the same settings, pairs and micro-batches as the local folder."""
    import fsspec

    from model.pairs import ladder_settings, read_pairs

    fs = fsspec.filesystem("memory")
    fs.put(str(ladders), "/remote/build[1]", recursive=True)  # "[": listed, not globbed
    url = "memory://remote/build[1]"
    try:
        assert shards(url, "train") and all(f.startswith("memory://") for f in shards(url, "train"))
        assert ladder_settings(url) == ladder_settings(ladders)
        assert list(read_pairs(shards(url, "val"))) == list(read_pairs(shards(ladders, "val")))
        remote = TrainStream(shards(url, "train"), 4, [], 60, seed=3, rank=1, world=2, task="ladder", pairs_per_row=6)
        assert list(itertools.islice(remote, 30)) == list(itertools.islice(stream(ladders, 1, 2), 30))
        with pytest.raises(DataError, match="memory://nowhere: no manifest.json"):
            ladder_settings("memory://nowhere")
    finally:
        fs.rm("/remote", recursive=True)
