"""`train launch` through DeepSpeed on CPU: ZeRO stages, bf16, resume, export, launcher, bad configs."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, timed

TINY = str(Path(__file__).parents[1] / "configs" / "tiny.yaml")


@pytest.fixture(scope="module")
def ladders(small_ladders) -> Path:
    return small_ladders


def train(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = timed(
        [str(BIN / "train"), "launch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **kwargs,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"train launch {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def losses(run: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in metrics(run) if "loss" in r]


def generate(export: Path) -> list[str]:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(str(export))
    tok = AutoTokenizer.from_pretrained(str(export))
    batch = tok(["<expand_3> Emma", "<expand_1> Miss Taylor married."], return_tensors="pt", padding=True)
    out = model.generate(**batch, max_new_tokens=8, do_sample=True)
    return tok.batch_decode(out, skip_special_tokens=True)


@pytest.mark.parametrize(
    "stage, precision", [(0, "fp32"), (1, "fp32"), (2, "fp32"), (3, "fp32"), (2, "bf16"), (3, "bf16")]
)
def test_zero_stages_train_and_export(tmp_path, ladders, stage, precision):
    run = tmp_path / "run"
    train(
        TINY,
        "--out",
        str(run),
        "--set",
        f"data.path={ladders}",
        "--set",
        f"deepspeed.zero_stage={stage}",
        "--set",
        f"deepspeed.precision={precision}",
    )
    seen = losses(run)
    assert [s for s, _ in seen] == [2, 4, 6, 8]
    assert all(0 < v < 20 for _, v in seen)
    evals = [r for r in metrics(run) if "val_loss_by_step" in r]
    assert [r["step"] for r in evals] == [4, 8] and set(evals[-1]["val_loss_by_step"]) == {"1", "2", "3"}
    assert (run / "step-00000008").is_dir() and (run / "loss_curve.png").stat().st_size > 1000
    assert (run / "config.yaml").exists() and (run / "tokenizer" / "tokenizer.json").exists()
    ladder = json.loads((run / "export" / "ladder.json").read_text())
    assert ladder["levels"] == 3 and set(ladder["max_new_tokens_by_step"]) == {"1", "2", "3"}
    assert len(generate(run / "export")) == 2


def test_training_learns(tmp_path, ladders):
    """More steps on the tiny model: the loss falls well below its start."""
    run = tmp_path / "run"
    train(
        TINY,
        "--out",
        str(run),
        "--set",
        f"data.path={ladders}",
        "--set",
        "schedule.max_steps=60",
        "--set",
        "logging.interval=10",
        "--set",
        "eval.interval=0",
        "--set",
        "checkpoint.interval=0",
    )
    seen = [v for _, v in losses(run)]
    assert seen[-1] < seen[0] - 0.5, seen


@pytest.mark.parametrize("nproc", [1, 2])
def test_kill_and_resume_gives_identical_losses(tmp_path, ladders, nproc):
    """Killed after a checkpoint, a rerun reads on from the saved stream position (each rank its own rows)."""
    args = [
        "--set",
        f"data.path={ladders}",
        "--set",
        "schedule.max_steps=40",
        "--set",
        "checkpoint.interval=4",
        "--set",
        "logging.interval=2",
        "--set",
        "eval.interval=8",
        "--nproc",
        str(nproc),
    ]
    ref = tmp_path / "ref"
    train(TINY, "--out", str(ref), *args)
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [str(BIN / "train"), "launch", TINY, "--out", str(run), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    end = time.monotonic() + 300
    while not (run / "step-00000012").exists():
        assert time.monotonic() < end and proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "step-00000040").exists()
    train(TINY, "--out", str(run), *args)
    assert losses(run) == losses(ref)
    val = lambda r: [(m["step"], m["val_loss_by_step"]) for m in metrics(r) if "val_loss_by_step" in m]  # noqa: E731
    assert val(run) == val(ref)


def test_two_processes_through_the_launcher(tmp_path, ladders):
    run = tmp_path / "run"
    train(TINY, "--out", str(run), "--nproc", "2", "--set", f"data.path={ladders}", "--set", "deepspeed.zero_stage=2")
    seen = losses(run)
    assert [s for s, _ in seen] == [2, 4, 6, 8]
    assert any("zero_pp_rank_1" in f.name for f in (run / "step-00000008").iterdir()), "two ranks saved shards"
    assert len(generate(run / "export")) == 2


@pytest.mark.parametrize(
    "override, named",
    [
        ("model.layres=2", "unknown key model.layres"),
        ("deepspeed.zero_stage=5", "deepspeed.zero_stage=5"),
        ("optimizer.lr=fast", "optimizer.lr must be float"),
        ("model.d_model=31", "model.d_model=31 must be a multiple of model.heads=2"),
        ("data.path=/nonexistent", "/nonexistent: no manifest.json"),
    ],
)
def test_bad_configs_name_the_key(tmp_path, override, named):
    proc = train(TINY, "--out", str(tmp_path / "r"), "--set", override, check=False)
    assert proc.returncode == 2 and named in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_bad_config_file_names_the_file(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("schedule:\n  max_step: 3\n")
    proc = train(str(cfg), "--out", str(tmp_path / "r"), check=False)
    assert proc.returncode == 2 and "schedule.max_step" in proc.stderr and str(cfg) in proc.stderr


def test_tensorboard_event_files_hold_the_curves(tiny_run, small_ladders, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    board = EventAccumulator(str(tiny_run / "tensorboard"))
    board.Reload()
    tags = set(board.Tags()["scalars"])
    for tag in ("train/loss", "train/lr", "train/tokens_per_s", "train/grad_norm", "val/loss", "val/loss_step_1"):
        assert tag in tags, (tag, sorted(tags))
    steps = [e.step for e in board.Scalars("train/loss")]
    assert steps == sorted(steps) and steps[-1] == 20
    assert all(math.isfinite(e.value) for e in board.Scalars("val/loss"))
    off = tmp_path / "off"
    train(TINY, "--out", str(off), "--set", f"data.path={small_ladders}", "--set", "logging.tensorboard=false")
    assert (off / "export").is_dir() and not (off / "tensorboard").exists()
