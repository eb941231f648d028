"""The executors `datagen build` runs on: datatrove's local, Ray and Slurm ones, and Slurm's bookkeeping
(one submission per job: a rerun while it is queued is refused)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

from datatrove.io import get_datafolder

from datagen.config import BuildConfig
from textladder.files import read_json


class BuildError(RuntimeError):
    pass


def make_executor(cfg: BuildConfig, pipeline: list, logging_dir: str):
    """The datatrove executor of `cfg.engine` for `pipeline`, with the build's tasks and workers."""
    common = {"tasks": cfg.tasks, "workers": cfg.workers, "logging_dir": logging_dir}
    if cfg.engine == "ray":
        import ray
        from datatrove.executor import RayPipelineExecutor

        if not ray.is_initialized():
            local = cfg.ray.address is None
            ray.init(
                address=cfg.ray.address,
                num_cpus=cfg.workers if local else None,
                include_dashboard=False,
                log_to_driver=False,
            )
        resources = {"cpus_per_task": cfg.ray.cpus_per_task, "mem_per_cpu_gb": cfg.ray.mem_per_cpu_gb}
        return RayPipelineExecutor(pipeline, **common, **resources)
    if cfg.engine == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        if not cfg.slurm.partition:
            raise BuildError("--engine slurm needs slurm.partition (--set slurm.partition=NAME)")
        return SlurmPipelineExecutor(
            pipeline,
            **common,
            time=cfg.slurm.time,
            partition=cfg.slurm.partition,
            cpus_per_task=cfg.slurm.cpus_per_task,
            # sbatch refuses "2.0G": whole gigabytes only
            mem_per_cpu_gb=math.ceil(cfg.slurm.mem_per_cpu_gb),
            sbatch_args=cfg.slurm.sbatch_args,
            job_name="textladder-datagen",
            venv_path=os.path.join(sys.prefix, "bin", "activate"),
        )
    return local_executor(cfg, pipeline, logging_dir)


def local_executor(cfg: BuildConfig, pipeline: list, logging_dir: str):
    """datatrove's LocalPipelineExecutor on forkserver, its own default, for its worker pool and its Manager.

    Forking this process is not safe: fsspec runs an asyncio thread here, and a Manager forked while it
    held a lock hung a build at shutdown. The fork server is started before any thread and imports the
    ladder code once, so workers forked from it start with it loaded."""
    import multiprocess
    from datatrove.executor import LocalPipelineExecutor

    method = "forkserver" if sys.platform != "win32" else "spawn"
    multiprocess.set_start_method(method, force=True)  # the Manager datatrove makes takes the default
    if method == "forkserver":
        multiprocess.set_forkserver_preload(["datagen.preload"])
    return LocalPipelineExecutor(
        pipeline, tasks=cfg.tasks, workers=min(cfg.workers, cfg.tasks), logging_dir=logging_dir, start_method=method
    )


def queued_slurm_job(logs: str) -> str | None:
    """The id of this build's last submitted Slurm job while `squeue` still lists it, else None."""
    submitted = read_json(get_datafolder(logs), "slurm_job.json")
    if submitted is None:
        return None
    job = str(submitted["job_id"])
    # a job that has ended drops out of squeue (or squeue calls its id invalid): either way, not queued
    proc = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i"], capture_output=True, text=True)
    return job if proc.returncode == 0 and proc.stdout.strip() else None


def submit_slurm(executor, logs: str) -> None:
    """Submit once: a rerun while the job is queued or running would submit its unfinished tasks again."""
    job = queued_slurm_job(logs)
    if job:
        raise BuildError(
            f"Slurm job {job} of this build is still queued or running (squeue -j {job}): "
            "run the same command again when it has ended"
        )
    executor.run()
    if executor.job_id not in (None, -1):
        with get_datafolder(logs).open("slurm_job.json", "wt") as f:
            json.dump({"job_id": executor.job_id}, f)
