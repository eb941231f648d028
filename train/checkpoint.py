"""Checkpoints `step-NNNNNNNN/` in the run folder, written so a crash never leaves one that is picked up.

DeepSpeed writes into `.tmp-step-NNNNNNNN/`; once every rank is done, rank 0 renames it. Only renamed
folders count, so the newest `step-*` is always complete, and a write that fails (a full disk) never
replaces the last good one. They are read back only through DeepSpeed's own loader, but for
`rank-NNNNN.json`: each data-parallel rank's own train state (its position in its own data, its
window of sums, its RNG), which DeepSpeed's client state would keep for rank 0 alone. A checkpoint
damaged after it was written (a cut file) is named, and the run resumes from the one before it.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from textladder.files import disk_full, replace_dir
from textladder.hold import hold

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


FULL_BELOW = 1 << 20  # free bytes under which a failed checkpoint write is put down to a full disk


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be written or read; the message names it."""


def save(engine, run: Path, step: int, state: dict, rank: int, keep: int) -> None:
    import torch
    import torch.distributed as dist

    tmp = f".tmp-{tag(step)}"
    client = {"train_state": state, "torch_rng": torch.get_rng_state()}  # dropout draws resume as they were
    try:
        engine.save_checkpoint(str(run), tag=tmp, client_state=client, save_latest=False)
        dist.barrier()
        own = {"train_state": state, "torch_rng": torch.get_rng_state().tolist()}
        (run / tmp / f"rank-{rank:05d}.json").write_text(json.dumps(own), encoding="utf-8")
        dist.barrier()
        if rank == 0:
            (run / tmp / "train_state.json").write_text(json.dumps(state, indent=2))
            replace_dir(run / tmp, run / tag(step))
            for old in complete(run)[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
    except (OSError, RuntimeError) as e:  # torch.save reports a failed write as a RuntimeError of its zip writer
        full = disk_full(e) or shutil.disk_usage(run).free < FULL_BELOW
        shutil.rmtree(run / tmp, ignore_errors=True)
        last = complete(run)
        kept = f"; the last good checkpoint, {last[-1].name}, is kept" if last else ""
        why = "the disk is full" if full else getattr(e, "strerror", None) or str(e).splitlines()[0]
        raise CheckpointError(f"{run / tag(step)}: cannot be written: {why}{kept}") from None
    dist.barrier()
    if rank == 0:
        hold(f"train:checkpoint:{step}")


def _load_one(engine, folder: Path, rank: int) -> dict:
    import torch

    _, client = engine.load_checkpoint(
        str(folder.parent), tag=folder.name, load_optimizer_states=True, load_lr_scheduler_states=True
    )
    if client is None:
        raise ValueError("DeepSpeed found no model states in it")
    own = folder / f"rank-{rank:05d}.json"
    if not own.exists():  # a checkpoint written before per-rank states: rank 0's is all there is
        torch.set_rng_state(client["torch_rng"])
        return client["train_state"]
    saved = json.loads(own.read_text(encoding="utf-8"))
    torch.set_rng_state(torch.tensor(saved["torch_rng"], dtype=torch.uint8))
    return saved["train_state"]


def load(engine, run: Path, rank: int = 0) -> dict | None:
    """This rank's train state of the newest complete checkpoint that reads, loaded into `engine`; None when
    there is none. A damaged one is named on stderr and passed over for the one before it (`checkpoint.keep`
    holds two); CheckpointError when none is left."""
    found = complete(run)
    damaged = []
    for folder in reversed(found):
        try:
            state = _load_one(engine, folder, rank)
        except Exception as e:  # torch, DeepSpeed and json raise many kinds for a cut file
            damaged.append(f"{folder.name} ({type(e).__name__})")
            continue
        if damaged and rank == 0:
            print(
                f"train: warning: {run}: checkpoint {', '.join(damaged)} is damaged: resuming from {folder.name}",
                file=sys.stderr,
                flush=True,
            )
        return state
    if damaged:
        raise CheckpointError(
            f"{run}: every checkpoint is damaged ({', '.join(damaged)}): start a new run with another --out"
        )
    return None
