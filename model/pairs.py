"""Ladder pairs as the model sees them: (rung k -> rung k - 1), read from the shards of a `datagen build`.

`task` decides which pairs a ladder gives: `ladder`, every step of every variant; `oneshot`, the top
rung to the text; `text`, the text alone (step 0, for a language model). Shards are streamed, never
loaded whole, from a local folder or any fsspec URL (s3://, gs://, hf://...): a build folder is named
by `data.path` and read through fsspec, as `datagen build` wrote it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


class DataError(ValueError):
    pass


@dataclass(frozen=True)
class Pair:
    step: int  # k: expand rung k into rung k - 1 (the top rung's index for oneshot, 0 for text)
    source: str  # rung k
    target: str  # rung k - 1


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

    if "://" not in str(path):
        return pq.ParquetFile(path)
    fs, inner = _filesystem(path)
    return pq.ParquetFile(inner, filesystem=fs)


def ladder_pairs(text: str, ladders: list[list[str]], task: str) -> Iterator[Pair]:
    """The pairs of one chunk: its text and its variants' rungs 1..L."""
    if task == "text":
        yield Pair(0, "", text)
        return
    for ladder in ladders:
        if task == "oneshot":
            yield Pair(len(ladder), ladder[-1], text)
            continue
        rungs = [text, *ladder]
        for k in range(1, len(rungs)):
            yield Pair(k, rungs[k], rungs[k - 1])


def read_pairs(files: list[str] | list[Path], task: str = "ladder") -> Iterator[Pair]:
    """Every pair of the shards in file order: per chunk and variant, steps 1..L (or as `task` says)."""
    for f in files:
        for batch in parquet_file(f).iter_batches(columns=["text", "ladders"], batch_size=256):
            for text, ladders in zip(batch.column("text").to_pylist(), batch.column("ladders").to_pylist()):
                yield from ladder_pairs(text, ladders, task)


def val_batches(files: list[str] | list[Path], batch_size: int, max_batches: int, task: str = "ladder") -> dict[int, list[list[Pair]]]:
    """Validation batches for each step, in file order: at most `max_batches` per step."""
    by_step: dict[int, list[Pair]] = {}
    for p in read_pairs(files, task):
        pairs = by_step.setdefault(p.step, [])
        if len(pairs) < batch_size * max_batches:
            pairs.append(p)
    return {k: [ps[i : i + batch_size] for i in range(0, len(ps), batch_size)] for k, ps in sorted(by_step.items())}
