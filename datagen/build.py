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
import os
import subprocess
import time
from dataclasses import replace

from datatrove.io import get_datafolder

from compressors.rake import preload
from datagen.config import RUN_ONLY, BuildConfig
from datagen.engines import BuildError, make_executor, submit_slurm
from datagen.manifest import write_manifest
from datagen.plan import Columns, PlanError, check_plan, dataset_shard_plan, list_files, plan_files, save_plan
from datagen.read import InputError, ReadDocuments, check_readable, dataset_files, dataset_shards, default_corpus
from datagen.steps import LadderStep, ShardWriter
from textladder.config import first_difference, to_dict
from textladder.files import Locked, lock, read_json, write_atomic
from textladder.hold import hold

OURS = ("build.json", "manifest.json", "data", "logs", ".partial")
__all__ = ["BuildError", "run_build"]


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
    if (
        folder.isdir("")
        and [p for p in folder.ls("", detail=False) if not p.endswith(".lock")]
        and not folder.exists("build.json")
    ):
        raise BuildError(f"{out} exists and holds no datagen build (no build.json): choose another --out")
    if force:
        for name in OURS:
            if folder.exists(name):
                folder.rm(name, recursive=True)
    elif (built := read_json(folder, "build.json")) is not None:
        diff = first_difference(built, _output_settings(cfg))
        if diff:
            key, was, asked = diff
            raise BuildError(
                f"{out} was built with {key}={was!r}, this run asks {key}={asked!r}: "
                "pass --force to start over, or choose another --out"
            )
        return
    folder.makedirs("", exist_ok=True)
    write_atomic("build.json", json.dumps(_output_settings(cfg), indent=2, ensure_ascii=False) + "\n", fs=folder)


def columns_of(cfg: BuildConfig) -> Columns:
    return Columns(cfg.text_column, cfg.id_column, cfg.title_column)


def plan_work(cfg: BuildConfig, logs: str) -> dict:
    """Make the work plan of this build and store it under `logs`, before any task starts."""
    paths = dataset_files(cfg.dataset, cfg.dataset_config, cfg.split) if cfg.dataset else cfg.input
    if paths is None:  # a data set of files the planner does not read: by its shards
        plan = dataset_shard_plan(dataset_shards(cfg.dataset, cfg.dataset_config, cfg.split), cfg.tasks, cfg.dataset)
    else:
        files = list_files(paths)
        check_readable(files, columns_of(cfg))
        plan = plan_files(files, cfg.tasks, columns_of(cfg), scratch=f"{logs}/unpacked")
    save_plan(logs, plan)
    return plan["summary"]


def run_build(cfg: BuildConfig, force: bool = False) -> dict | None:
    """Build (or resume) the ladders of `cfg`; the manifest, or None when a Slurm job was only submitted.
    The output folder is locked for the build: a second build into it at once is refused."""
    cfg = resolve(cfg)
    if "://" not in cfg.out and os.path.exists(cfg.out) and not os.path.isdir(cfg.out):
        raise BuildError(f"{cfg.out}: a file, not a folder (--out names the folder to build into)")
    try:
        with lock(cfg.out, "another datagen build"):
            return _build(cfg, force)
    except Locked as e:
        raise BuildError(str(e)) from None


def _build(cfg: BuildConfig, force: bool) -> dict | None:
    logs = os.path.join(cfg.out, "logs")
    try:
        plan = None if force else check_plan(logs, cfg.tasks)
    except PlanError as e:
        raise BuildError(str(e)) from e
    prepare_out(cfg, force)
    plan = plan or plan_work(cfg, logs)
    hold("datagen:planned")
    pipeline = [
        ReadDocuments(logs, cfg.dataset_config, cfg.split, columns_of(cfg)),
        LadderStep(cfg.ladder, cfg.max_words, cfg.val_fraction, bar_slots=cfg.workers),
        ShardWriter(cfg.out),
    ]
    executor = make_executor(cfg, pipeline, logs)
    preload()  # the compressors' word tables, once here: workers forked from this process share them
    start = time.perf_counter()
    try:
        submit_slurm(executor, logs) if cfg.engine == "slurm" else executor.run()
    except (InputError, BuildError):
        raise
    except subprocess.CalledProcessError as e:  # sbatch refused the job; its message is on stderr above
        raise BuildError(
            f"{e.cmd[0]} failed (exit {e.returncode}; its message is above): check the slurm.* settings"
        ) from e
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
