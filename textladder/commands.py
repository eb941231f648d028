"""The command table: every console script of the project and the function behind it (litgpt's style).

`datagen`, `train`, `codec` and `sample` are the scripts pyproject.toml installs; `sample eval` and
`sample serve` are subcommands of `sample` whose code lives in evaluation/ and sample/serve.py, so the
sampler itself never imports evaluation. `python -m textladder COMMAND …` runs the same table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

COMMANDS = {
    "datagen": "datagen.cli:main",
    "train": "train.cli:main",
    "sample": "sample.cli:main",
    "sample eval": "evaluation.cli:main",
    "sample serve": "sample.serve:main",
    "codec": "codec.cli:main",
}


def reporting(prog: str, errors: tuple[type[Exception], ...], call: Callable[[], int | None]) -> int:
    """`call()`, each of `errors` told as one line, `PROG: error: MESSAGE`, with exit code 2: what every
    command answers to bad input (docs/bad-input.md). An error with a `cli_message` (an option error,
    which names the flag) says that."""
    try:
        return call() or 0
    except errors as e:
        print(f"{prog}: error: {getattr(e, 'cli_message', e)}", file=sys.stderr)
        return 2


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
