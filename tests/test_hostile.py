"""Every case of tests/hostile.py: the exit status, a clear message, no traceback, nothing lost; and
docs/bad-input.md is the table those cases make."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.hostile import CASES, Case, Ctx, case_id, disk_full, table

DOC = Path(__file__).parents[1] / "docs" / "bad-input.md"


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_hostile_input_gets_a_clear_answer(case: Case, tiny_run, small_ladders, small_corpus, tmp_path):
    if case.go is disk_full and not can_mount():
        pytest.skip("a small tmpfs needs root: the disk-full case runs where the tests run as root")
    proc = case.go(Ctx(tiny_run, small_ladders, small_corpus, tmp_path))
    said = proc.stdout + proc.stderr
    assert proc.returncode == case.code, f"exit {proc.returncode}, not {case.code}:\n{said[-3000:]}"
    assert case.says in said, f"{case.says!r} not said:\n{said[-3000:]}"
    assert "Traceback" not in said, said[-3000:]
    if case.kept:
        assert f"[kept: {case.kept}]" in said, said[-3000:]


def test_the_bad_input_page_is_current():
    assert DOC.read_text(encoding="utf-8") == table(), "regenerate it: python -m tests.hostile > docs/bad-input.md"
