"""Reading documents: local .txt, .jsonl(.gz) and .parquet files or folders, or a Hugging Face data set.

Work is split by rows, not by files: task r of n keeps rows r, r + n, r + 2n... of the inputs in a
fixed order, so one big file still feeds every core. Text that is not valid UTF-8 is decoded with
replacement characters and counted; a row without text is skipped and counted.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from importlib import resources
from typing import Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

SUFFIXES = (".txt", ".jsonl", ".jsonl.gz", ".json.gz", ".parquet")


class InputError(ValueError):
    """An input cannot be read; the message names the file."""


def default_corpus() -> str:
    return str(resources.files("datagen").joinpath("data/default.jsonl.gz"))


def list_files(paths: list[str]) -> list[str]:
    """Every readable file under `paths`, in a fixed order, or InputError naming the bad path."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(
                os.path.join(root, f) for root, _, names in os.walk(path) for f in names if f.endswith(SUFFIXES)
            )
            if not found:
                raise InputError(f"{path}: no {', '.join(SUFFIXES)} file in this folder")
            files.extend(found)
        elif not os.path.exists(path):
            raise InputError(f"{path}: no such file or folder")
        elif not path.endswith(SUFFIXES):
            raise InputError(f"{path}: unsupported file type (use {', '.join(SUFFIXES)})")
        else:
            files.append(path)
    return files


@dataclass
class Row:
    doc_id: str
    text: object  # str normally; anything else is counted as missing text
    invalid_utf8: bool = False


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True


def _doc_id(record: dict, id_column: str | None, fallback: str) -> str:
    """The row's id column: the one named (which must be there), else `id` when present, else `fallback`."""
    key = id_column or "id"
    if key in record and record[key] is not None:
        return str(record[key])
    if id_column:
        raise InputError(f"{fallback}: no value for the id column {id_column!r} (--id-column)")
    return fallback


def _jsonl_rows(path: str, text_column: str, id_column: str | None) -> Iterator[Row]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            line, bad = _decode(raw)
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                yield Row(f"{path}:{lineno}", None, bad)
                continue
            if not isinstance(record, dict):
                yield Row(f"{path}:{lineno}", None, bad)
                continue
            yield Row(_doc_id(record, id_column, f"{path}:{lineno}"), record.get(text_column), bad)


def _parquet_rows(path: str, text_column: str, id_column: str | None) -> Iterator[Row]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    for column, flag in ((text_column, "--text-column"), (id_column, "--id-column")):
        if column and column not in names:
            raise InputError(f"{path}: no column {column!r} ({flag}; columns: {', '.join(names)})")
    columns = [text_column] + [c for c in {id_column or "id"} - {text_column} if c in names]
    index = 0
    for batch in pf.iter_batches(columns=columns, batch_size=1024):
        for record in batch.to_pylist():
            yield Row(_doc_id(record, id_column, f"{path}:{index}"), record.get(text_column))
            index += 1


def _txt_rows(path: str) -> Iterator[Row]:
    with open(path, "rb") as f:
        text, bad = _decode(f.read())
    yield Row(path, text, bad)


def file_rows(path: str, text_column: str, id_column: str | None) -> Iterator[Row]:
    """The rows of one file; any read failure becomes an InputError naming the file."""
    try:
        if path.endswith(".parquet"):
            yield from _parquet_rows(path, text_column, id_column)
        elif path.endswith(".txt"):
            yield from _txt_rows(path)
        else:
            yield from _jsonl_rows(path, text_column, id_column)
    except InputError:
        raise
    except (OSError, EOFError, ValueError) as e:
        raise InputError(f"{path}: cannot read: {e}") from e


def check_readable(paths: list[str], text_column: str, id_column: str | None) -> list[str]:
    """Fail early, before any task starts, on a missing, unsupported or unreadable input."""
    files = list_files(paths)
    for path in files:
        first = next(iter(file_rows(path, text_column, id_column)), None)
        if first is not None and not path.endswith(".txt") and not isinstance(first.text, str):
            raise InputError(f"{first.doc_id}: no text in column {text_column!r} (--text-column)")
    return files


def dataset_rows(name: str, config: str | None, split: str, text_column: str, id_column: str | None) -> Iterator[Row]:
    from datasets import load_dataset

    try:
        ds = load_dataset(name, config, split=split, streaming=True)
    except Exception as e:  # datasets raises many types for a missing or unreachable data set
        raise InputError(f"data set {name!r} (split {split!r}): cannot load: {e}") from e
    for index, record in enumerate(ds):
        yield Row(_doc_id(record, id_column, f"{name}/{split}/{index}"), record.get(text_column))


class ReadDocuments(PipelineStep):
    """Reader step: yields this task's share of the rows as datatrove Documents."""

    name = "📖 read documents"
    type = "📖 - READER"

    def __init__(self, files: list[str], dataset: str | None, dataset_config: str | None, split: str,
                 text_column: str, id_column: str | None):
        super().__init__()
        self.files, self.dataset, self.dataset_config, self.split = files, dataset, dataset_config, split
        self.text_column, self.id_column = text_column, id_column

    def rows(self) -> Iterator[Row]:
        if self.dataset:
            yield from dataset_rows(self.dataset, self.dataset_config, self.split, self.text_column, self.id_column)
        for path in self.files:
            yield from file_rows(path, self.text_column, self.id_column)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for index, row in enumerate(self.rows()):
            if index % world_size != rank:
                continue
            self.stat_update("documents")
            if row.invalid_utf8:
                self.stat_update("invalid_utf8")
            if not isinstance(row.text, str):
                self.stat_update("skipped/missing_text")
                continue
            yield Document(text=row.text, id=row.doc_id)
