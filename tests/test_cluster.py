"""The real cluster runs of `datagen build`: a one-node Slurm and a two-node Ray on this machine.

Marked slow (CI skips them): run by hand with `python -m pytest -m slow tests/test_cluster.py`. Each
runs its bench script, which starts the daemons, builds through the engine, compares the rows with a
local build and exits non-zero on any difference.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
pytestmark = pytest.mark.slow


def run(script: str) -> str:
    proc = subprocess.run(["bash", str(BENCH / script)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.skipif(
    not shutil.which("slurmctld") or not shutil.which("munged"),
    reason="needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge) and root",
)
def test_slurm_build_matches_local():
    out = run("datagen_slurm.sh")
    assert "identical: True" in out and "job array ended" in out
    assert "is still queued or running" in out, "a rerun while the job runs must be refused"


def test_ray_two_nodes_build_matches_local():
    pytest.importorskip("ray")
    out = run("datagen_ray.sh")
    assert "identical: True" in out
    nodes = [line for line in out.splitlines() if "worker processes: " in line]
    assert len(nodes) >= 2, f"the build's tasks ran on one Ray node only: {nodes}"
