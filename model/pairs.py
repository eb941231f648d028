"""Ladder pairs read from the shards of a `datagen build`, as the task says (model.task).

Shards are streamed, never loaded whole, from a local folder or any fsspec URL (s3://, gs://, hf://...):
a build folder is named by `data.path` and read through fsspec, as `datagen build` wrote it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

from model.task import Pair, Task
from textladder.files import damaged

__all__ = [
    "DataError",
    "Pair",
    "by_source",
    "damaged",
    "in_turn",
    "ladder_settings",
    "parquet_file",
    "read_pairs",
    "shards",
    "val_batches",
]


class DataError(ValueError):
    pass


def by_source(items: list[dict], id_key: str) -> dict[str, list[dict]]:
    """`items` grouped by the source their document id names: its part before the first "/" (austen,
    jargon, wikipedia in the default corpus; an id without one is a source of its own), in order."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item[id_key].split("/")[0], []).append(item)
    return groups


def in_turn(groups) -> list:
    """The items of `groups`, one of each in turn until all are taken: held-out text that no one source fills."""
    return [item for row in itertools.zip_longest(*groups) for item in row if item is not None]


def _filesystem(path: str | Path):
    """(fsspec filesystem, the folder's path within it, no trailing slash) of a local path or a URL."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(path))
    return fs, root.rstrip("/")


def ladder_settings(path: str | Path) -> dict:
    """The finished build's manifest: its ladder settings say how many steps there are."""
    fs, root = _filesystem(path)
    if not fs.exists(f"{root}/manifest.json"):
        raise DataError(f"{path}: no manifest.json: not a finished `datagen build` folder (data.path)")
    with fs.open(f"{root}/manifest.json", "rt", encoding="utf-8") as f:
        return json.load(f)


def shards(path: str | Path, split: str) -> list[str]:
    """The build's Parquet shards of `split`, sorted: local paths, or URLs of the build's filesystem."""
    from fsspec.implementations.local import LocalFileSystem

    fs, root = _filesystem(path)
    folder = f"{root}/data/{split}"
    # Listed, not globbed: a folder name may hold glob characters ("[", "*").
    files = sorted(f for f in fs.ls(folder, detail=False) if f.endswith(".parquet")) if fs.isdir(folder) else []
    if not files:
        raise DataError(f"{path}: no {split} shards under data/{split}/ (data.path)")
    return files if isinstance(fs, LocalFileSystem) else [fs.unstrip_protocol(f) for f in files]


def parquet_file(path: str | Path):
    """pyarrow's ParquetFile of a local path or of an fsspec URL (read through fsspec)."""
    import pyarrow.parquet as pq

    with damaged(path):
        if "://" not in str(path):
            return pq.ParquetFile(path)
        fs, inner = _filesystem(path)
        return pq.ParquetFile(inner, filesystem=fs)


def read_pairs(files: list[str] | list[Path], task: str = "ladder") -> Iterator[Pair]:
    """Every pair of the shards in file order: per chunk and variant, steps 1..L (or as `task` says)."""
    pairs = Task(task).pairs
    for f in files:
        batches = parquet_file(f).iter_batches(columns=["text", "ladders"], batch_size=256)
        while True:
            with damaged(f):
                batch = next(batches, None)
            if batch is None:
                break
            for text, ladders in zip(batch.column("text").to_pylist(), batch.column("ladders").to_pylist()):
                yield from pairs(text, ladders)


def val_batches(
    files: list[str] | list[Path], batch_size: int, max_batches: int, task: str = "ladder"
) -> dict[int, list[list[Pair]]]:
    """Validation batches for each step, in file order: at most `max_batches` per step."""
    by_step: dict[int, list[Pair]] = {}
    for p in read_pairs(files, task):
        pairs = by_step.setdefault(p.step, [])
        if len(pairs) < batch_size * max_batches:
            pairs.append(p)
    return {k: [ps[i : i + batch_size] for i in range(0, len(ps), batch_size)] for k, ps in sorted(by_step.items())}
