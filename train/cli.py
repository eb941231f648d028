"""Command line of the train stage: not built yet."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("train: not available yet in this version of textladder; build ladders with 'datagen build'",
          file=sys.stderr)
    return 2
