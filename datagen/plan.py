"""The work plan: every input cut into work units once, before any task starts, and units given to tasks.

Why: splitting by rows made every task open and parse every input row; at web scale (thousands of
files, thousands of tasks) each byte would be read once per task. The plan makes each byte be read by
one task:

- a file is one unit, unless it is larger than one task's share of the bytes; then
- a Parquet file is cut into its row groups (read from the footer only),
- an uncompressed JSONL file into byte ranges (a range starting mid-line skips to the next newline, a
  line belongs to the range it starts in),
- a compressed file stays whole (it cannot be entered in the middle), except a small one (at most
  UNPACK_MAX compressed bytes, such as the default corpus): the driver unpacks it once into the logs
  (`logs/unpacked/`) and cuts the copy at line boundaries, so a small corpus still uses every core;
  its ids stay `<file>:<line>`, as when it is read whole.

Units keep the input order and are dealt to tasks as contiguous runs balanced by bytes, so with many
files each file is read by exactly one task and one big Parquet file spreads over every task.

The plan is stored under the build's logs, `logs/plan.json` (summary, written last: its presence means
the plan is whole) and `logs/plan/<rank>.json` (the units of one task, all a task reads), so a rerun, a
Slurm array task or a Ray worker reads the same assignment. Paths may be local or any fsspec URL
(`s3://`, `hf://`...): files are listed and opened through fsspec, never os.path.
"""

from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

from datatrove.io import get_datafolder
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from textladder.files import read_json, write_atomic

SUFFIXES = (".txt", ".jsonl", ".jsonl.gz", ".json.gz", ".parquet")
COMPRESSED = (".gz",)
MIN_RANGE = 4096  # bytes: smaller JSONL ranges cost more in opens than they gain in balance
RANGES_PER_SHARE = 4  # a big JSONL is cut into ranges of a quarter of a task's share, for balance
UNPACK_MAX = 64 * 2**20  # compressed bytes: larger files stay whole (unpacking is the driver's time)
PLAN_VERSION = 1


@dataclass
class WorkUnit:
    """What one task reads of one input: a file's byte range, row groups [start, stop), lines of an unpacked
    copy, or shards of a data set."""

    path: str  # the file read (for "lines": the unpacked copy; for "dataset": the data set's name)
    kind: str  # parquet, jsonl, gz, txt, lines (an unpacked copy), dataset
    start: int  # first byte, row group, or shard index
    stop: int  # past the last byte or row group; for "dataset": the number of shards
    bytes: int  # its weight when dealt to tasks: the input bytes it reads
    rows: int | None = None  # rows, where the Parquet footer tells them
    source: str | None = None  # "lines": the compressed file it was unpacked from
    line: int | None = None  # "lines": the number of its first line in that file

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def name(self) -> str:
        """The input a user knows it by."""
        return self.source or self.path


class InputError(ValueError):
    """An input cannot be read; the message names the file."""


class PlanError(RuntimeError):
    """A stored plan does not fit this run; the message names the setting."""


def kind_of(path: str) -> str:
    if path.endswith(".parquet"):
        return "parquet"
    if path.endswith(".txt"):
        return "txt"
    return "gz" if path.endswith(COMPRESSED) else "jsonl"


def _full(fs, path: str) -> str:
    """The path as a reader opens it: plain for local files, with its protocol (s3://...) otherwise."""
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def _entry(path: str) -> list[tuple[str, int]]:
    """(file, size) of one input: a file, or every readable file of a folder in sorted order."""
    fs, bare = url_to_fs(path)
    if fs.isdir(bare):
        found = sorted(
            (p, info["size"])
            for p, info in fs.find(bare, detail=True).items()
            if info["type"] == "file" and p.endswith(SUFFIXES)
        )
        if not found:
            raise InputError(f"{path}: no {', '.join(SUFFIXES)} file in this folder")
        return [(_full(fs, p), size) for p, size in found]
    if not fs.exists(bare):
        raise InputError(f"{path}: no such file or folder")
    if not path.endswith(SUFFIXES):
        raise InputError(f"{path}: unsupported file type (use {', '.join(SUFFIXES)})")
    return [(path, fs.size(bare))]


def list_files(paths: list[str]) -> list[tuple[str, int]]:
    """(file, size) of every readable file under `paths` in a fixed order, or InputError naming the bad path.

    Several at once: a data set's thousands of remote files cost a round trip each.
    """
    with ThreadPoolExecutor(8) as pool:
        return [f for entry in pool.map(_entry, paths) for f in entry]


@dataclass(frozen=True)
class Columns:
    """The columns of a record that a build reads. `id` and `title` None: those named so, where a record
    has them; a column named by a flag must be there."""

    text: str = "text"
    id: str | None = None
    title: str | None = None

    def named(self) -> list[tuple[str, str]]:
        """(column, flag) of each column the input must hold."""
        flags = (("--text-column", self.text), ("--id-column", self.id), ("--title-column", self.title))
        return [(column, flag) for flag, column in flags if column]

    def read(self) -> set[str]:
        """Every column a reader takes where present."""
        return {self.text, self.id or "id", self.title or "title"}


def parquet_row_groups(path: str, columns: Columns) -> list[dict]:
    """[{rows, bytes}] of each row group, from the footer only; bytes count the columns a task reads."""
    import pyarrow.parquet as pq

    fs, bare = url_to_fs(path)
    try:
        with fs.open(bare, "rb") as f:
            meta = pq.ParquetFile(f).metadata
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the Parquet footer: {e}") from e
    names = meta.schema.to_arrow_schema().names
    for column, flag in columns.named():
        if column not in names:
            raise InputError(f"{path}: no column {column!r} ({flag}; columns: {', '.join(names)})")
    wanted = columns.read()
    groups = []
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        size = sum(
            rg.column(j).total_compressed_size
            for j in range(rg.num_columns)
            if rg.column(j).path_in_schema.split(".")[0] in wanted
        )
        groups.append({"rows": rg.num_rows, "bytes": size})
    return groups


def _unpacked_units(path: str, size: int, share: float, scratch: str) -> list[WorkUnit]:
    """A compressed JSONL unpacked once into `scratch`, cut at line boundaries into ranges of about a
    quarter of a share (in compressed bytes, as the other units are weighed); each unit knows its
    first line's number, so ids are those of the file read whole."""
    import gzip

    fs, bare = url_to_fs(path)
    folder = get_datafolder(scratch)
    name = f"{hashlib.sha1(path.encode()).hexdigest()[:8]}-{bare.rsplit('/', 1)[-1].removesuffix('.gz')}"
    starts = [0]  # byte offset of each line in the copy
    try:
        with fs.open(bare, "rb") as raw, gzip.GzipFile(fileobj=raw) as lines, folder.open(name, "wb") as out:
            for line in lines:
                out.write(line)
                starts.append(starts[-1] + len(line))
    except (OSError, EOFError) as e:
        raise InputError(f"{path}: cannot read: {e}") from e
    unpacked = starts[-1]
    step = max(MIN_RANGE, share / RANGES_PER_SHARE * unpacked / max(size, 1))
    units, first = [], 0
    for line in range(1, len(starts)):
        if starts[line] - starts[first] >= step or line == len(starts) - 1:
            units.append(
                WorkUnit(
                    folder.resolve_paths(name),
                    "lines",
                    starts[first],
                    starts[line],
                    round((starts[line] - starts[first]) * size / max(unpacked, 1)),
                    source=path,
                    line=first + 1,
                )
            )
            first = line
    return units


def _units_of(path: str, size: int, share: float, columns: Columns, scratch: str | None) -> list[WorkUnit]:
    """The work units of one file: whole, or cut when it is larger than one task's share."""
    kind = kind_of(path)
    if kind == "gz" and scratch and share < size <= UNPACK_MAX:
        return _unpacked_units(path, size, share, scratch)
    if kind == "parquet":
        groups = parquet_row_groups(path, columns)
        whole = WorkUnit(path, kind, 0, len(groups), sum(g["bytes"] for g in groups), sum(g["rows"] for g in groups))
        if size <= share or len(groups) < 2:
            return [whole]
        return [WorkUnit(path, kind, i, i + 1, g["bytes"], g["rows"]) for i, g in enumerate(groups)]
    if kind == "jsonl" and size > share:
        step = max(MIN_RANGE, math.ceil(share / RANGES_PER_SHARE))
        return [WorkUnit(path, kind, a, min(a + step, size), min(step, size - a)) for a in range(0, size, step)]
    return [WorkUnit(path, kind, 0, size, size)]


def assign(units: list[WorkUnit], tasks: int) -> list[list[WorkUnit]]:
    """Deal units to tasks as contiguous runs in input order, each task near total/tasks bytes.

    A unit goes to the task whose share holds the unit's middle byte, so no task is more than half
    a unit away from an equal share.
    """
    total = sum(u.bytes for u in units)
    out: list[list[WorkUnit]] = [[] for _ in range(tasks)]
    done = 0
    for i, unit in enumerate(units):
        middle = done + unit.bytes / 2
        rank = int(middle * tasks / total) if total else i * tasks // len(units)
        out[min(tasks - 1, rank)].append(unit)
        done += unit.bytes
    return [_merge(task) for task in out]


def _merge(units: list[WorkUnit]) -> list[WorkUnit]:
    """Adjacent pieces of one file in one task become one unit: the file is opened once."""
    merged: list[WorkUnit] = []
    for unit in units:
        last = merged[-1] if merged else None
        if last and last.path == unit.path and last.stop == unit.start and unit.kind != "dataset":
            last.stop, last.bytes = unit.stop, last.bytes + unit.bytes
            if unit.rows is not None:
                last.rows = (last.rows or 0) + unit.rows
        else:
            merged.append(replace(unit))
    return merged


def make_plan(paths: list[str], tasks: int, columns: Columns, scratch: str | None = None) -> dict:
    """The plan of `paths` for `tasks` tasks: {"summary": ..., "tasks": [[unit, ...], ...]}.

    `scratch`: a folder where small compressed files may be unpacked to be split; None keeps them whole.
    """
    return plan_files(list_files(paths), tasks, columns, scratch)


def plan_files(files: list[tuple[str, int]], tasks: int, columns: Columns, scratch: str | None = None) -> dict:
    """The plan of files already listed, (path, size) each."""
    share = sum(size for _, size in files) / tasks
    # footers of many remote Parquet files: fetch several at once, the latency is the cost
    with ThreadPoolExecutor(8) as pool:
        per_file = list(pool.map(lambda f: _units_of(f[0], f[1], share, columns, scratch), files))
    units = [u for file_units in per_file for u in file_units]
    return with_summary(assign(units, tasks), files)


def dataset_shard_plan(shards: int, tasks: int, name: str) -> dict:
    """A data set that is not plain files: its shards (IterableDataset.n_shards) dealt to tasks."""
    units = [WorkUnit(name, "dataset", i, shards, 1) for i in range(shards)]
    return with_summary(assign(units, tasks), [])


def with_summary(per_task: list[list[WorkUnit]], files: list[tuple[str, int]]) -> dict:
    parquet_rows = [u.rows for task in per_task for u in task if u.kind == "parquet"]
    summary = {
        "plan_version": PLAN_VERSION,
        "tasks": len(per_task),
        "files": len(files),
        "input_bytes": sum(size for _, size in files),
        "units": sum(len(t) for t in per_task),
        "bytes_per_task": [sum(u.bytes for u in t) for t in per_task],
        # rows known before reading: Parquet footers; None when other inputs have rows only a read can count
        "rows_from_footers": sum(parquet_rows) if len(parquet_rows) == sum(len(t) for t in per_task) else None,
    }
    return {"summary": summary, "tasks": per_task}


def save_plan(logs: str, plan: dict) -> None:
    """Write each task's units, then the summary: a plan.json on disk means the whole plan is there."""
    folder = get_datafolder(logs)
    for rank, units in enumerate(plan["tasks"]):
        with folder.open(f"plan/{rank:05d}.json", "wt") as f:
            json.dump([u.to_json() for u in units], f)
    write_atomic("plan.json", json.dumps(plan["summary"], indent=2) + "\n", fs=folder)


def load_summary(logs: str) -> dict | None:
    return read_json(get_datafolder(logs), "plan.json")


def check_plan(logs: str, tasks: int) -> dict | None:
    """The stored plan's summary, or None when there is none; PlanError when made for another task count."""
    summary = load_summary(logs)
    if summary is not None and summary["tasks"] != tasks:
        raise PlanError(
            f"{logs}/plan.json was made for tasks={summary['tasks']}, this run asks tasks={tasks}: "
            f"rerun with --tasks {summary['tasks']}, or pass --force to start over"
        )
    return summary


def task_units(logs: str, rank: int) -> list[WorkUnit]:
    with get_datafolder(logs).open(f"plan/{rank:05d}.json", "rt") as f:
        return [WorkUnit(**u) for u in json.load(f)]
