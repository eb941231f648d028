"""A test hook that makes kill points deterministic: a process stops at a named point and waits.

With `TEXTLADDER_HOLD=POINT:PATH` in the environment, the first process to reach POINT writes
`PATH.reached` (holding its pid) and waits until PATH exists, at most `TEXTLADDER_HOLD_SECONDS` (300);
a test kills it meanwhile, at exactly that point, instead of after a sleep. Unset, it costs one lookup.
Points: `datagen:planned` (the plan is stored, no task has started), `datagen:written:RANK` (task RANK
moved its shards into data/), `train:checkpoint:STEP` (the checkpoint of STEP is complete).
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def hold(point: str) -> None:
    spec = os.environ.get("TEXTLADDER_HOLD", "")
    wanted, _, path = spec.rpartition(":") if spec.count(":") >= 2 else (spec, "", "")
    if not path or wanted != point:
        return
    reached = Path(f"{path}.reached")
    try:
        with open(reached, "x", encoding="utf-8") as f:  # only the first process to get here holds
            f.write(str(os.getpid()))
    except FileExistsError:
        return
    end = time.monotonic() + float(os.environ.get("TEXTLADDER_HOLD_SECONDS", "300"))
    while not Path(path).exists() and time.monotonic() < end:
        time.sleep(0.01)
