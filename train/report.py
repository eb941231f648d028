"""What a run reports: a log line and a metrics.jsonl record per interval, TensorBoard event files (and
W&B, when asked) as it goes, a loss curve PNG at the end. Only rank 0 writes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from model.task import Task
from textladder.files import jsonl_records, write_atomic


def _reduce(values: list[float]) -> list[float]:
    """Sum over data-parallel ranks."""
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


class Metrics:
    """metrics.jsonl of a run, and its curves for TensorBoard (`tensorboard/` of the run folder) and W&B. A
    resumed run first drops the records after its checkpoint (it writes them again), and tells TensorBoard
    to purge those steps."""

    def __init__(
        self,
        path: Path,
        rank: int,
        resumed_step: int,
        tensorboard: bool = True,
        wandb: str | None = None,
        config: dict | None = None,
    ):
        self.path, self.rank, self.tokens_seen = path, rank, 0
        if path.exists():  # every rank reads where the count of tokens stood; rank 0 rewrites the file
            kept = [r for r in jsonl_records(path) if r["step"] <= resumed_step]
            self.tokens_seen = max([r.get("tokens_seen", 0) for r in kept] or [0])
            if rank == 0:
                write_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))
        self.board = self.wandb = None
        if rank == 0 and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.board = SummaryWriter(
                str(path.parent / "tensorboard"), purge_step=resumed_step + 1 if resumed_step else None
            )
        if rank == 0 and wandb:
            self.wandb = _wandb_run(wandb, path.parent, config or {})

    def _log(self, record: dict, values: dict[str, float]) -> None:
        """`record` as a line of metrics.jsonl, and `values` as scalars of TensorBoard and W&B at its step."""
        if self.rank == 0:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if self.board is not None:
            for name, value in values.items():
                self.board.add_scalar(name, value, record["step"])
            self.board.flush()
        if self.wandb is not None:
            self.wandb.log(values, step=record["step"])

    def close(self) -> None:
        if self.board is not None:
            self.board.close()
        if self.wandb is not None:
            self.wandb.finish()

    def train_line(
        self,
        step: int,
        window,
        lr: float,
        levels: int,
        elapsed: float,
        max_steps: int,
        bar,
        grad_norm: float | None = None,
    ) -> dict:
        keys = [str(k) for k in range(0, levels + 1)]  # every rank sends every step (0: text alone), in one order
        sums = _reduce(
            [window.loss, window.tokens, window.seen] + [v for k in keys for v in window.by_step.get(k, [0.0, 0])]
        )
        loss, tokens, seen = sums[0] / max(sums[1], 1), sums[1], sums[2]
        by_step = {k: sums[3 + 2 * i] / sums[4 + 2 * i] for i, k in enumerate(keys) if sums[4 + 2 * i]}
        self.tokens_seen += int(seen)
        record = {
            "step": step,
            "loss": loss,
            "loss_by_step": by_step,
            "lr": lr,
            "tokens_per_s": seen / max(window.seconds, 1e-9),
            "target_tokens": tokens,
            "tokens_seen": self.tokens_seen,
            "elapsed_s": elapsed,
            "time": time.time(),
        }
        scalars = {"train/loss": loss, "train/lr": lr, "train/tokens_per_s": record["tokens_per_s"]}
        if grad_norm is not None:
            record["grad_norm"] = scalars["train/grad_norm"] = grad_norm
        self._log(record, scalars | {f"train/loss_step_{k}": v for k, v in by_step.items()})
        left = elapsed / step * (max_steps - step)
        steps = " ".join(f"{k}:{v:.3f}" for k, v in by_step.items())
        self._print(
            bar,
            f"step {step}/{max_steps} loss {loss:.4f} [{steps}] lr {lr:.2e} "
            f"tok/s {record['tokens_per_s']:.0f} elapsed {elapsed:.0f}s left {left:.0f}s",
        )
        return record

    def eval_line(
        self, step: int, val: dict[str, float], baseline: dict[str, float], bar, overall: float | None = None
    ) -> dict:
        record = {"step": step, "val_loss_by_step": val, "copy_baseline_by_step": baseline}
        scalars = {f"val/loss_step_{k}": v for k, v in val.items()}
        if overall is not None:
            record["val_loss"] = scalars["val/loss"] = overall
        self._log(record, scalars)
        parts = " ".join(f"{k}:{v:.3f}(copy {baseline[k]:.3f})" for k, v in val.items())
        self._print(bar, f"step {step} val loss by step {parts}")
        return record

    def _print(self, bar, line: str) -> None:
        if self.rank == 0:
            bar.write(line) if not bar.disable else print(line, flush=True)


def _wandb_run(project: str, folder: Path, config: dict):
    """A W&B run of `project`, resumed by the run folder's name (offline unless WANDB_MODE says otherwise)."""
    import os

    try:
        import wandb
    except ImportError:
        raise ValueError(f"logging.wandb={project!r}: the wandb package is not installed (pip install wandb)") from None
    os.environ.setdefault("WANDB_MODE", "offline")
    return wandb.init(
        project=project, dir=str(folder), name=folder.name, id=folder.resolve().name, resume="allow", config=config
    )


def read(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    return jsonl_records(path) if path.exists() else []


def plot(run: Path) -> Path:
    """loss_curve.png: training loss by step of the ladder, and validation loss against the copy baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read(run)
    train = [r for r in records if "loss" in r]
    val = [r for r in records if "val_loss_by_step" in r]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot([r["step"] for r in train], [r["loss"] for r in train], label="all steps", color="black")
    for k in sorted({k for r in train for k in r["loss_by_step"]}, key=int):
        pts = [(r["step"], r["loss_by_step"][k]) for r in train if k in r["loss_by_step"]]
        a.plot(*zip(*pts), label=f"rung {k} → {int(k) - 1}", alpha=0.7)
    a.set(title="training loss", xlabel="optimizer step", ylabel="nats / target token")
    a.legend()
    for k in sorted({k for r in val for k in r["val_loss_by_step"]}, key=int):
        (line,) = b.plot(
            [r["step"] for r in val],
            [r["val_loss_by_step"][k] for r in val],
            marker="o",
            label=f"rung {k} → {int(k) - 1}",
        )
        b.axhline(val[-1]["copy_baseline_by_step"][k], color=line.get_color(), linestyle=":")
    b.set(
        title="validation loss (dotted: copy-the-input baseline)", xlabel="optimizer step", ylabel="nats / target token"
    )
    b.legend()
    fig.tight_layout()
    out = run / "loss_curve.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def summary(run: Path) -> str:
    """A person's view of a run: where it stands and each step's validation loss against copying."""
    records = read(run)
    if not records:
        raise FileNotFoundError(f"{run}: no metrics.jsonl (is this a run folder of `train launch`?)")
    train = [r for r in records if "loss" in r]
    lines = (
        [
            f"{run}: step {train[-1]['step']}, training loss {train[-1]['loss']:.4f}, "
            f"{train[-1]['tokens_per_s']:.0f} tokens/s, {train[-1]['elapsed_s']:.0f} s"
        ]
        if train
        else [str(run)]
    )
    val = [r for r in records if "val_loss_by_step" in r]
    if val:
        lines.append(f"validation at step {val[-1]['step']} (nats per target token):")
        lines.append("  step          model    copy-the-input")
        import yaml

        saved = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}
        task = Task(saved.get("data", {}).get("task", "ladder"))
        for k, v in val[-1]["val_loss_by_step"].items():
            copy = val[-1]["copy_baseline_by_step"][k]
            verdict = "beats copying" if v < copy else "WORSE than copying"
            lines.append(f"  rung {k} -> {task.below(int(k))}  {v:7.4f}  {copy:7.4f}  {verdict}")
    for name in ("loss_curve.png", "export"):
        if (run / name).exists():
            lines.append(f"{name}: {run / name}")
    return "\n".join(lines)
