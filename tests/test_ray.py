"""`--engine ray` on a local Ray instance: the same rows as the local engine, and failures exit non-zero."""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import datagen, rows

pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")

ARGS = ["--levels", "3", "--variants", "2", "--max-words", "128", "--workers", "2"]


def test_ray_build_matches_local(tmp_path, small_corpus):
    datagen("build", "--input", str(small_corpus), "--out", str(tmp_path / "local"), *ARGS)
    datagen("build", "--engine", "ray", "--input", str(small_corpus), "--out", str(tmp_path / "ray"), *ARGS)
    assert rows(tmp_path / "ray") == rows(tmp_path / "local")


def test_ray_build_with_failing_tasks_exits_nonzero(tmp_path, small_corpus):
    """Ray reports success with incomplete ranks; datagen checks them. A gzip file cut short reads its
    first line (so the early check passes) and fails inside every task."""
    whole = gzip.compress(small_corpus.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    # --tasks 1: the file is read whole inside the task (with more, the planner unpacks it and fails first)
    proc = datagen(
        "build",
        "--engine",
        "ray",
        "--input",
        str(cut),
        "--out",
        str(tmp_path / "o"),
        *ARGS,
        "--tasks",
        "1",
        check=False,
    )
    assert proc.returncode != 0
    assert "tasks did not complete" in proc.stderr or "cut.jsonl.gz" in proc.stderr
    assert not (tmp_path / "o" / "manifest.json").exists()
