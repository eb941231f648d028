from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from datagen.read import default_corpus

BIN = Path(sys.executable).parent
PROCESS_TIMEOUT = 900  # seconds any process a test starts may take: a hang fails the test, naming the command


def timed(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout: every process a test starts ends, or fails the test."""
    kwargs.setdefault("timeout", PROCESS_TIMEOUT)
    return subprocess.run(cmd, **kwargs)


@pytest.fixture(scope="session")
def corpus_docs() -> list[dict]:
    with gzip.open(default_corpus(), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory, corpus_docs) -> Path:
    """A few Austen chapters and Wikipedia sections of the default corpus, as one jsonl file."""
    picked = corpus_docs[:6] + corpus_docs[300:312]
    path = tmp_path_factory.mktemp("corpus") / "small.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in picked), encoding="utf-8")
    return path


def datagen(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `datagen` console script."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = timed([str(BIN / "datagen"), *args], capture_output=True, text=True, env=env, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"datagen {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def rows(out: Path) -> list[dict]:
    """Every row of a build, sorted by id."""
    found = [r for f in sorted((out / "data").glob("*/*.parquet")) for r in pq.read_table(f).to_pylist()]
    return sorted(found, key=lambda r: r["id"])


@pytest.fixture(scope="session")
def small_ladders(tmp_path_factory, small_corpus) -> Path:
    """`small_corpus` laddered at 3 levels, 2 variants, 128-word chunks, a fifth of it held out."""
    out = tmp_path_factory.mktemp("ladders") / "l3"
    datagen(
        "build",
        "--input",
        str(small_corpus),
        "--out",
        str(out),
        "--levels",
        "3",
        "--variants",
        "2",
        "--max-words",
        "128",
        "--val-fraction",
        "0.2",
        "--workers",
        "1",
    )
    return out


TINY = str(Path(__file__).parents[1] / "configs" / "tiny.yaml")


def train(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `train` console script."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **kwargs.pop("env", {})}
    proc = timed([str(BIN / "train"), *args], capture_output=True, text=True, env=env, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"train {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, small_ladders) -> Path:
    """configs/tiny.yaml trained 20 steps on `small_ladders`, checkpoints at 16 and 20 kept. Shared: copy it
    before changing anything in it."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    train("launch", TINY, "--out", str(out), "--set", f"data.path={small_ladders}", "--set", "schedule.max_steps=20")
    return out
