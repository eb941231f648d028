"""Checkpoints `step-NNNNNNNN/` in the run folder, written so a crash never leaves one that is picked up.

DeepSpeed writes into `.tmp-step-NNNNNNNN/`; once every rank is done, rank 0 renames it. Only renamed
folders count, so the newest `step-*` is always complete. They are read back only through DeepSpeed's
own loader, but for `rank-NNNNN.json`: each data-parallel rank's own train state (its position in its
own data, its window of sums, its RNG), which DeepSpeed's client state would keep for rank 0 alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

STEP_DIR = re.compile(r"^step-(\d{8})$")


def tag(step: int) -> str:
    return f"step-{step:08d}"


def complete(run: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    found = [p for p in run.glob("step-*") if p.is_dir() and STEP_DIR.match(p.name)]
    return sorted(found, key=lambda p: p.name)


def clear_partial(run: Path) -> None:
    for p in run.glob(".tmp-step-*"):
        shutil.rmtree(p, ignore_errors=True)


def save(engine, run: Path, step: int, state: dict, rank: int, keep: int) -> None:
    import torch
    import torch.distributed as dist

    tmp = f".tmp-{tag(step)}"
    client = {"train_state": state, "torch_rng": torch.get_rng_state()}  # dropout draws resume as they were
    engine.save_checkpoint(str(run), tag=tmp, client_state=client, save_latest=False)
    dist.barrier()
    own = {"train_state": state, "torch_rng": torch.get_rng_state().tolist()}
    (run / tmp / f"rank-{rank:05d}.json").write_text(json.dumps(own), encoding="utf-8")
    dist.barrier()
    if rank == 0:
        (run / tmp / "train_state.json").write_text(json.dumps(state, indent=2))
        if (run / tag(step)).exists():
            shutil.rmtree(run / tag(step))
        os.replace(run / tmp, run / tag(step))
        for old in complete(run)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()


def load(engine, run: Path, rank: int = 0) -> dict | None:
    """This rank's train state of the newest complete checkpoint, loaded into `engine`; None when there is none."""
    found = complete(run)
    if not found:
        return None
    import torch

    _, client = engine.load_checkpoint(str(run), tag=found[-1].name, load_optimizer_states=True,
                                       load_lr_scheduler_states=True)
    own = found[-1] / f"rank-{rank:05d}.json"
    if not own.exists():  # a checkpoint written before per-rank states: rank 0's is all there is
        torch.set_rng_state(client["torch_rng"])
        return client["train_state"]
    saved = json.loads(own.read_text(encoding="utf-8"))
    torch.set_rng_state(torch.tensor(saved["torch_rng"], dtype=torch.uint8))
    return saved["train_state"]
