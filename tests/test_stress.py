"""datagen's local runs end by design, not by luck: `datagen build --workers 2` many times in a row, on a
machine kept busy by other processes meanwhile, each within a time limit (a hang at shutdown fails the
run that hung, naming it). Workers start by forkserver (datagen/engines.py): no worker is forked from a
driver that runs threads."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.conftest import datagen, rows

RUNS = 8
LIMIT = 120  # seconds one build of the small corpus may take under load (about 5 s alone)
BURN = "import time\nend = time.time() + 600\nwhile time.time() < end: pass\n"


def test_datagen_with_two_workers_never_hangs_under_load(tmp_path, small_corpus):
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(2)]  # one busy loop a core
    try:
        reference = None
        for i in range(RUNS):
            out = tmp_path / f"run-{i}"
            start = time.monotonic()
            datagen(
                "build",
                "--input",
                str(small_corpus),
                "--out",
                str(out),
                "--levels",
                "3",
                "--workers",
                "2",
                "--tasks",
                "2",
                timeout=LIMIT,
            )
            assert time.monotonic() - start < LIMIT
            got = [(r["id"], r["ladders"]) for r in rows(out)]
            reference = reference or got
            assert got == reference, f"run {i} wrote other rows"
    finally:
        for b in burners:
            b.kill()
            b.wait(timeout=30)
