"""Reading documents: .txt, .jsonl(.gz) and .parquet files or folders (local or fsspec URLs), or a Hugging
Face data set, each task reading only the work units the plan (`datagen/plan.py`) gave it.

Document ids, when the input has no id column (stable whatever the task count):
  Parquet              `<file>:<row>`          row index in the file, from 0
  .jsonl               `<file>@<byte offset>`  offset of the line's first byte: a range starting
                                               mid-file knows no line number, it knows its offset
  .jsonl.gz, .json.gz  `<file>:<line>`         line number, from 1 (read whole, from the start)
  .txt                 `<file>`                one document a file
Text that is not valid UTF-8 is decoded with replacement characters and counted; a row without text is
skipped and counted. Each task counts the rows and the bytes it reads (`rows_read`, `bytes_read`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from fsspec.core import url_to_fs

from datagen.plan import Columns, InputError, WorkUnit, kind_of, task_units

__all__ = ["InputError", "ReadDocuments", "check_readable", "dataset_files", "default_corpus"]


def default_corpus() -> str:
    return str(resources.files("datagen").joinpath("data/default.jsonl.gz"))


@dataclass
class Row:
    doc_id: str
    text: object  # str normally; anything else is counted as missing text
    invalid_utf8: bool = False
    title: str = ""  # what the document is called, where the input says: the topic its ladders keep


class Counter:
    """Bytes read so far from one file, as its reader asked for them."""

    def __init__(self, f):
        self.f, self.count = f, 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.count += len(data)
        return data

    def readline(self) -> bytes:
        data = self.f.readline()
        self.count += len(data)
        return data

    def seek(self, *args):
        return self.f.seek(*args)

    def tell(self) -> int:
        return self.f.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self.f.closed

    def close(self) -> None:
        self.f.close()


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True


def _value(record: dict, named: str | None, default: str, where: str):
    """The record's value in the column `named` (which must hold one), else in `default`, else None."""
    value = record.get(named or default)
    if value is None and named:
        raise InputError(f"{where}: no value for the {default} column {named!r} (--{default}-column)")
    return value


def _record_row(record: dict, fallback: str, columns: Columns, bad: bool = False) -> Row:
    """A record's row: its id (`fallback` where it has none), text and title ("" where none)."""
    found = _value(record, columns.id, "id", fallback)
    doc_id = fallback if found is None else str(found)
    title = _value(record, columns.title, "title", doc_id)
    return Row(doc_id, record.get(columns.text), bad, title if isinstance(title, str) else "")


def _json_row(raw: bytes, fallback: str, columns: Columns) -> Row:
    line, bad = _decode(raw)
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return Row(fallback, None, bad)
    if not isinstance(record, dict):
        return Row(fallback, None, bad)
    return _record_row(record, fallback, columns, bad)


def _lines(f: Counter, pos: int, stop: int) -> Iterator[tuple[int, int, bytes]]:
    """(byte offset, line index from `pos`, line) of the non-blank lines that start in [pos, stop)."""
    f.seek(pos)
    index = 0
    while pos < stop:
        raw = f.readline()
        if not raw:
            return
        if raw.strip():
            yield pos, index, raw
        pos, index = pos + len(raw), index + 1


def _jsonl_range(f: Counter, unit: WorkUnit, columns: Columns) -> Iterator[Row]:
    """The lines that start in [start, stop): a range starting mid-line skips to the next newline."""
    pos = unit.start
    if pos > 0:
        f.seek(pos - 1)
        pos += len(f.readline()) - 1  # the byte before tells whether `start` begins a line
    for offset, _, raw in _lines(f, pos, unit.stop):
        yield _json_row(raw, f"{unit.path}@{offset}", columns)


def _unpacked_lines(f: Counter, unit: WorkUnit, columns: Columns) -> Iterator[Row]:
    """Lines of a compressed file's unpacked copy (plan.py), from a line boundary; ids `<file>:<line>`."""
    for _, index, raw in _lines(f, unit.start, unit.stop):
        yield _json_row(raw, f"{unit.source}:{unit.line + index}", columns)


def _gz_lines(f: Counter, unit: WorkUnit, columns: Columns) -> Iterator[Row]:
    with gzip.GzipFile(fileobj=f, mode="rb") as lines:
        for lineno, raw in enumerate(lines, start=1):
            if raw.strip():
                yield _json_row(raw, f"{unit.path}:{lineno}", columns)


def _footer(f: Counter):
    """The file's Parquet metadata, reading exactly the footer: pyarrow's own open reads the last 64 KiB,
    which, once per task on a file split over many tasks, would be most of what a small file holds."""
    import io

    import pyarrow.parquet as pq

    f.seek(-8, 2)
    length = int.from_bytes(f.read(8)[:4], "little")
    f.seek(-(length + 8), 2)
    return pq.read_metadata(io.BytesIO(b"PAR1" + f.read(length + 8)))


def _parquet_rows(f: Counter, unit: WorkUnit, columns: Columns) -> Iterator[Row]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(f, metadata=_footer(f))
    names = pf.schema_arrow.names
    wanted = [columns.text] + sorted(c for c in columns.read() - {columns.text} if c in names)
    index = sum(pf.metadata.row_group(i).num_rows for i in range(unit.start))
    groups = list(range(unit.start, unit.stop))
    for batch in pf.iter_batches(row_groups=groups, columns=wanted, batch_size=1024):
        for record in batch.to_pylist():
            yield _record_row(record, f"{unit.path}:{index}", columns)
            index += 1


def _txt_rows(f: Counter, unit: WorkUnit, columns: Columns) -> Iterator[Row]:
    text, bad = _decode(f.read())
    yield Row(unit.path, text, bad)


READERS = {"jsonl": _jsonl_range, "gz": _gz_lines, "lines": _unpacked_lines, "parquet": _parquet_rows, "txt": _txt_rows}


def unit_rows(unit: WorkUnit, columns: Columns, counter_out: list) -> Iterator[Row]:
    """The rows of one work unit; any read failure becomes an InputError naming the file.

    The unit's Counter is appended to `counter_out`, so the caller can read the bytes it took.
    """
    fs, bare = url_to_fs(unit.path)
    try:
        with fs.open(bare, "rb") as raw:
            f = Counter(raw)
            counter_out.append(f)
            yield from READERS[unit.kind](f, unit, columns)
    except InputError:
        raise
    except (OSError, EOFError, ValueError) as e:
        raise InputError(f"{unit.name}: cannot read: {e}") from e


def check_readable(files: list[tuple[str, int]], columns: Columns) -> None:
    """Fail early, before any task starts, on a missing, unsupported or unreadable input.

    Parquet footers are checked by the planner; of the other kinds, the first row of the first file
    of each kind is read (thousands of remote files are not opened twice; a bad one later fails its
    task, naming the file).
    """
    seen = set()
    for path, size in files:
        kind = kind_of(path)
        if kind in seen or kind == "parquet":
            continue
        seen.add(kind)
        unit = WorkUnit(path, kind, 0, size, size)
        first = next(iter(unit_rows(unit, columns, [])), None)
        if first is not None and kind != "txt" and not isinstance(first.text, str):
            raise InputError(f"{first.doc_id}: no text in column {columns.text!r} (--text-column)")


def dataset_files(name: str, config: str | None, split: str) -> list[str] | None:
    """The files of a Hugging Face data set's split (`hf://...` URLs, or local paths), when all are
    of a kind the planner reads; else None, and the data set is read by its shards."""
    from datasets import load_dataset_builder

    try:
        builder = load_dataset_builder(name, config)
    except Exception as e:  # datasets raises many types for a missing or unreachable data set
        raise InputError(f"data set {name!r}: cannot load: {e}") from e
    files = (builder.config.data_files or {}).get(split)
    if files is None:
        known = ", ".join(map(str, (builder.config.data_files or {}).keys())) or "none listed"
        raise InputError(f"data set {name!r}: no split {split!r} (splits: {known})")
    files = [str(f) for f in files]
    return files if files and all(f.endswith((".parquet", ".jsonl", ".jsonl.gz", ".json.gz")) for f in files) else None


def _open_dataset(name: str, config: str | None, split: str):
    from datasets import load_dataset

    try:
        return load_dataset(name, config, split=split, streaming=True)
    except Exception as e:  # datasets raises many types for a missing or unreachable data set
        raise InputError(f"data set {name!r} (split {split!r}): cannot load: {e}") from e


def dataset_shards(name: str, config: str | None, split: str) -> int:
    return _open_dataset(name, config, split).n_shards


def dataset_shard_rows(unit: WorkUnit, config: str | None, split: str, columns: Columns) -> Iterator[Row]:
    """One shard of a data set that is not plain files (IterableDataset.shard): only its own files are
    streamed, never the whole data set on every task."""
    name, index = unit.path, unit.start
    shard = _open_dataset(name, config, split).shard(num_shards=unit.stop, index=index, contiguous=True)
    for row, record in enumerate(shard):
        yield _record_row(record, f"{name}/{split}/{index}:{row}", columns)


class ReadDocuments(PipelineStep):
    """Reader step: yields the rows of this task's work units (`logs/plan/<rank>.json`) as Documents."""

    name = "📖 read documents"
    type = "📖 - READER"

    def __init__(self, logs: str, dataset_config: str | None, split: str, columns: Columns):
        super().__init__()
        self.logs, self.dataset_config, self.split = logs, dataset_config, split
        self.columns = columns

    def rows(self, rank: int) -> Iterator[Row]:
        for unit in task_units(self.logs, rank):
            if unit.kind == "dataset":
                yield from dataset_shard_rows(unit, self.dataset_config, self.split, self.columns)
                continue
            counters: list[Counter] = []
            try:
                yield from unit_rows(unit, self.columns, counters)
            finally:
                self.stat_update("bytes_read", value=sum(c.count for c in counters), unit="unit")

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for row in self.rows(rank):
            self.stat_update("documents", "rows_read")
            if row.invalid_utf8:
                self.stat_update("invalid_utf8")
            if not isinstance(row.text, str):
                self.stat_update("skipped/missing_text")
                continue
            yield Document(text=row.text, id=row.doc_id, metadata={"title": row.title} if row.title else {})
