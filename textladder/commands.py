"""The command table: every console script of the project and the function behind it (litgpt's style).

`datagen`, `train`, `codec` and `sample` are the scripts pyproject.toml installs; `sample eval` and
`sample serve` are subcommands of `sample` whose code lives in evaluation/ and sample/serve.py, so the
sampler itself never imports evaluation. `python -m textladder COMMAND …` runs the same table.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "datagen": "datagen.cli:main",
    "train": "train.cli:main",
    "sample": "sample.cli:main",
    "sample eval": "evaluation.cli:main",
    "sample serve": "sample.serve:main",
    "codec": "codec.cli:main",
}


def _call(target: str, argv: list[str]) -> int:
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)(argv) or 0


def run(command: str, argv: list[str]) -> int:
    """Run `command` (a script name) with `argv`, its subcommand picked from argv's first word."""
    sub = f"{command} {argv[0]}" if argv else ""
    if sub in COMMANDS:
        return _call(COMMANDS[sub], argv[1:])
    return _call(COMMANDS[command], argv)


def sample() -> None:
    """The `sample` script: sampling, or `sample eval` / `sample serve`."""
    sys.exit(run("sample", sys.argv[1:]))


def main() -> None:
    """`python -m textladder COMMAND …`."""
    if len(sys.argv) < 2 or sys.argv[1] not in {c.split()[0] for c in COMMANDS}:
        names = ", ".join(sorted({c.split()[0] for c in COMMANDS}))
        sys.exit(f"usage: python -m textladder COMMAND ... (commands: {names})")
    sys.exit(run(sys.argv[1], sys.argv[2:]))
