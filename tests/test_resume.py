"""A build killed at any moment (SIGKILL) and rerun ends with exactly the rows of an uninterrupted one.

The kill points are deterministic: the build waits at a named point (textladder.hold) until it is
killed there, so no test depends on how fast the machine is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import BIN, datagen, rows

ARGS = ["--levels", "4", "--variants", "2", "--tasks", "6", "--workers", "2"]


@pytest.fixture(scope="module")
def medium(tmp_path_factory, corpus_docs):
    folder = tmp_path_factory.mktemp("medium")
    src = folder / "medium.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in corpus_docs[:: len(corpus_docs) // 90]))
    ref = folder / "ref"
    datagen("build", "--input", str(src), "--out", str(ref), *ARGS)
    return src, rows(ref)


def start(src, out, hold: str = "") -> subprocess.Popen:
    env = {**os.environ, "TEXTLADDER_HOLD": hold} if hold else None
    return subprocess.Popen(
        [str(BIN / "datagen"), "build", "--input", str(src), "--out", str(out), *ARGS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_for(predicate, timeout=120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


MOMENTS = {
    "while starting": "datagen:planned",
    "first shard written": "datagen:written:0",
    "half the tasks done": "datagen:written:3",
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_kill_and_resume_gives_the_uninterrupted_rows(tmp_path, medium, moment):
    src, reference = medium
    out, gate = tmp_path / "out", tmp_path / "gate"
    proc = start(src, out, f"{MOMENTS[moment]}:{gate}")
    wait_for(lambda: Path(f"{gate}.reached").exists() or proc.poll() is not None)
    assert proc.poll() is None, "the build ended before its kill point"
    kill(proc)
    assert not (out / "manifest.json").exists()
    # whatever the moment, data/ holds only whole shards
    for shard in (out / "data").glob("*/*.parquet"):
        assert pq.ParquetFile(shard).metadata.num_rows >= 0  # reading the footer raises on a partial file
    datagen("build", "--input", str(src), "--out", str(out), *ARGS)
    assert rows(out) == reference
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["chunks"] == len(reference)


def test_force_starts_over(tmp_path, medium):
    src, reference = medium
    out, gate = tmp_path / "out", tmp_path / "gate"
    proc = start(src, out, f"datagen:written:0:{gate}")
    wait_for(lambda: Path(f"{gate}.reached").exists())
    kill(proc)
    datagen("build", "--input", str(src), "--out", str(out), "--force", *ARGS)
    assert rows(out) == reference
