"""The datagen stage's config: where text comes from, how it is cut, laddered and run."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal

from compressors.ladder import LadderConfig

# Settings that do not change a single output byte: a rerun may change them and still resume.
RUN_ONLY = ("workers", "engine", "slurm", "ray")


@dataclass(frozen=True)
class SlurmConfig:
    partition: str | None = None
    time: str = "4:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2.0
    sbatch_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RayConfig:
    address: str | None = None  # None starts a local Ray instance
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2.0


@dataclass(frozen=True)
class BuildConfig:
    input: list[str] = field(
        default_factory=list,
        metadata={
            "help": ".txt, .jsonl(.gz), .parquet files or folders (default: the default corpus)",
            "metavar": "PATH",
        },
    )
    dataset: str | None = field(
        default=None, metadata={"help": "a Hugging Face data set, by name or local folder", "metavar": "NAME"}
    )
    dataset_config: str | None = field(
        default=None, metadata={"help": "the configuration of --dataset", "metavar": "NAME"}
    )
    split: str = field(default="train", metadata={"help": "the split of --dataset"})
    text_column: str = field(default="text", metadata={"help": "the column holding the text"})
    id_column: str | None = field(
        default=None,
        metadata={"help": "the column of document ids (none: `id` where there is one, else file and line)"},
    )
    title_column: str | None = field(
        default=None,
        metadata={
            "help": "the column of document titles, the topic the top rungs keep (none: `title` where there is one)"
        },
    )
    out: str | None = field(
        default=None, metadata={"help": "the output folder (none: ladders/<input>-L<levels>)", "metavar": "DIR"}
    )
    max_words: int = field(default=256, metadata={"help": "chunk size: documents are cut into at most this many words"})
    val_fraction: float = field(default=0.05, metadata={"help": "share of documents (by id hash) in the val split"})
    workers: int = field(default=0, metadata={"help": "processes at once; 0: every core"})
    tasks: int = field(default=0, metadata={"help": "shares of the work plan (datagen/plan.py); 0: as many as workers"})
    engine: Literal["local", "slurm", "ray"] = field(default="local", metadata={"help": "the datatrove executor"})
    ladder: LadderConfig = field(default_factory=LadderConfig)
    slurm: SlurmConfig = field(default_factory=SlurmConfig)
    ray: RayConfig = field(default_factory=RayConfig)

    def validate(self) -> None:
        if self.input and self.dataset:
            raise ValueError("give either input or dataset, not both")
        if self.max_words <= self.ladder.levels:
            raise ValueError(f"max_words={self.max_words} must exceed levels={self.ladder.levels}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction={self.val_fraction} must be in [0, 1)")
        if self.workers < 0 or self.tasks < 0:
            raise ValueError("workers and tasks must be 0 (automatic) or positive")
        self.ladder.validate()

    @property
    def n_workers(self) -> int:
        return self.workers or len(os.sched_getaffinity(0))

    @property
    def n_tasks(self) -> int:
        return self.tasks or self.n_workers

    @property
    def name(self) -> str:
        """A short name for the input, for the default output folder."""
        if self.dataset:
            raw = self.dataset
        elif self.input:
            raw = os.path.basename(os.path.normpath(self.input[0])).split(".")[0]
        else:
            raw = "default"
        return re.sub(r"[^\w.-]+", "-", raw).strip("-") or "input"

    @property
    def out_dir(self) -> str:
        return self.out or os.path.join("ladders", f"{self.name}-L{self.ladder.levels}")
