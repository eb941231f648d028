"""A build killed at any moment (SIGKILL) and rerun ends with exactly the rows of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pyarrow.parquet as pq
import pytest

from tests.conftest import BIN, datagen, rows

ARGS = ["--levels", "4", "--variants", "2", "--tasks", "6", "--workers", "2"]


@pytest.fixture(scope="module")
def medium(tmp_path_factory, corpus_docs):
    folder = tmp_path_factory.mktemp("medium")
    src = folder / "medium.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in corpus_docs[:: 719 // 90]))
    ref = folder / "ref"
    datagen("build", "--input", str(src), "--out", str(ref), *ARGS)
    return src, rows(ref)


def start(src, out) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "datagen"), "build", "--input", str(src), "--out", str(out), *ARGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_for(predicate, timeout=120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("moment", ["while starting", "first shard written", "half the tasks done"])
def test_kill_and_resume_gives_the_uninterrupted_rows(tmp_path, medium, moment):
    src, reference = medium
    out = tmp_path / "out"
    proc = start(src, out)
    done = out / "logs" / "completions"
    if moment == "while starting":
        time.sleep(1.0)
    elif moment == "first shard written":
        wait_for(lambda: any((out / ".partial").rglob("*.parquet")))
    else:
        wait_for(lambda: done.is_dir() and len(os.listdir(done)) >= 3)
    kill(proc)
    assert not (out / "manifest.json").exists() or moment != "while starting"
    # whatever the moment, data/ holds only whole shards
    for shard in (out / "data").glob("*/*.parquet"):
        pq.ParquetFile(shard).metadata  # raises on a partial file
    datagen("build", "--input", str(src), "--out", str(out), *ARGS)
    assert rows(out) == reference
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["chunks"] == len(reference)


def test_force_starts_over(tmp_path, medium):
    src, reference = medium
    out = tmp_path / "out"
    proc = start(src, out)
    wait_for(lambda: (out / "logs" / "completions").is_dir())
    kill(proc)
    datagen("build", "--input", str(src), "--out", str(out), "--force", *ARGS)
    assert rows(out) == reference
