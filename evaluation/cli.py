"""`sample eval`: models side by side on held-out ladders (the measurements of `evaluation.evaluate`)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from evaluation.evaluate import EvalSettings, run, table
from model.export import ModelError
from model.pairs import DataError
from sample.decode import Decoding
from sample.flags import add_length, add_lexicon, add_placement
from textladder.commands import reporting


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sample eval", description="Evaluate models side by side on held-out ladders.")
    p.add_argument("--models", nargs="+", required=True, help="export or run folders: the ladder model and baselines")
    p.add_argument("--judge", required=True, help="a text LM trained with data.task: text (configs/judge.yaml)")
    p.add_argument("--data", default="ladders/default-L4", help="a datagen build folder (default ladders/default-L4)")
    p.add_argument("--split", default="val", choices=["train", "val"])
    p.add_argument("--seeds", type=int, default=8, help="held-out top rungs to expand")
    p.add_argument("--num", type=int, default=4, help="samples per seed")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.7, 1.0, 1.3])
    p.add_argument("--top-p", type=float, nargs="+", default=[0.95], help="one or more nucleus sizes")
    add_length(p, "the same for every model: length-matched; default: each model's typical text")
    add_lexicon(p)
    p.add_argument("--rng-seed", type=int, default=0)
    add_placement(p)
    p.add_argument("--out", default="eval", help="folder for eval.json and eval.png")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    return reporting("sample eval", (ModelError, DataError, ValueError), lambda: evaluate(args))  # OptionError too


def evaluate(args) -> int:
    import torch

    for t in args.temperatures:
        for top_p in args.top_p:
            Decoding(t, top_p, 0, args.max_new_tokens, args.lexicon)  # one definition of the valid ranges
    flags = {f.name: getattr(args, f.name) for f in fields(EvalSettings) if hasattr(args, f.name)}  # same names
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    settings = EvalSettings(**{**flags, "device": device})
    result = run(settings, Path(args.out))
    print(table(result))
    print(f"\n{args.out}/eval.json  {args.out}/eval.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
