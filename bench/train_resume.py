"""Resume without replay: a resumed run's first steps run as fast as an uninterrupted run's late steps.

`train launch` trains configs/tiny.yaml, with micro-batches of 64 and 4 of them a step (a tiny step alone
lasts a few ms, so one-time start costs would swamp a 10-step window), to step STEPS (checkpoints every
10, kept), then a copy of the
run whose newest checkpoint is step STEPS - 10 is resumed to STEPS. Both runs log tokens/s over steps
STEPS - 9..STEPS (one logging window): the ratio resumed / uninterrupted is the figure (goal >= 0.9). For
scale, it also times what a replay would cost there: iterating the data stream from its start to the
same position, against starting it from the saved state.
Usage: python bench/train_resume.py [--data ladders/default-L4] [--steps 200]
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TINY = str(Path(__file__).parents[1] / "configs" / "tiny.yaml")


def launch(run: Path, data: str, steps: int) -> None:
    subprocess.run(
        [
            str(BIN / "train"),
            "launch",
            TINY,
            "--out",
            str(run),
            "--set",
            f"data.path={data}",
            "--set",
            f"schedule.max_steps={steps}",
            "--set",
            "checkpoint.interval=10",
            "--set",
            "checkpoint.keep=3",
            "--set",
            "logging.interval=10",
            "--set",
            "eval.interval=0",
            "--set",
            "logging.progress_bar=false",
            "--set",
            "deepspeed.micro_batch_size=64",
            "--set",
            "deepspeed.gradient_accumulation=4",
        ],
        check=True,
        capture_output=True,
    )


def last_window(run: Path, step: int) -> float:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return next(r["tokens_per_s"] for r in records if r["step"] == step and "tokens_per_s" in r)


def stream_costs(run: Path, data: str, micro_batches: int) -> tuple[float, float]:
    """(seconds to replay `micro_batches` from the start, seconds to the first batch from the saved state)."""
    from model.pairs import ladder_settings, shards
    from textladder.config import load
    from train.config import TrainConfig
    from train.data import TrainStream, pairs_per_row

    cfg = load(TrainConfig, run / "config.yaml")
    state = json.loads(sorted(run.glob("step-*/rank-00000.json"))[-1].read_text())["train_state"]["data"]
    args = (
        shards(data, "train"),
        cfg.deepspeed.micro_batch_size,
        cfg.data.step_weights,
        cfg.data.shuffle_buffer,
        cfg.seed,
        0,
        1,
        cfg.data.task,
        pairs_per_row(ladder_settings(data), cfg.data.task),
    )
    start = time.perf_counter()
    for _ in itertools.islice(iter(TrainStream(*args)), micro_batches):
        pass
    replay = time.perf_counter() - start
    start = time.perf_counter()
    next(iter(TrainStream(*args, state=state)))
    return replay, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="ladders/default-L4")
    p.add_argument("--steps", type=int, default=200)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        whole, resumed = Path(tmp) / "whole", Path(tmp) / "resumed"
        launch(whole, args.data, args.steps)
        shutil.copytree(whole, resumed)
        shutil.rmtree(resumed / f"step-{args.steps:08d}")
        launch(resumed, args.data, args.steps)
        a, b = last_window(whole, args.steps), last_window(resumed, args.steps)
        replay, seek = stream_costs(resumed, args.data, (args.steps - 10) * 4)
    print(
        f"tiny, steps {args.steps - 9}..{args.steps}: uninterrupted {a:,.0f} tokens/s, resumed at step "
        f"{args.steps - 10}: {b:,.0f} tokens/s, ratio {b / a:.2f} (goal >= 0.9)"
    )
    print(
        f"data stream at micro-batch {(args.steps - 10) * 4}: replay from the start {replay:.2f} s, "
        f"from the saved state {seek:.3f} s to the first batch"
    )


if __name__ == "__main__":
    main()
