"""`sample --seed WORD --steps S`: expand a seed word rung by rung into text, differently each run."""

from __future__ import annotations

import argparse
import json
import secrets
import sys

from model.align import Rung
from model.export import ModelError, load, resolve
from model.task import Task
from sample.decode import Decoding, OptionError
from sample.expand import expand
from sample.flags import add_length, add_lexicon, add_model
from textladder.commands import reporting

BOLD, PLAIN = "\033[1m", "\033[0m"


def marked(rung: Rung, style: str) -> str:
    """The rung with the spans kept from the rung above shown: [[bracketed]], in bold, or not at all."""
    if style == "none" or not getattr(rung, "kept", None):
        return str(rung)
    left, right = ("[[", "]]") if style == "brackets" else (BOLD, PLAIN)
    out, pos = [], 0
    for start, end in rung.kept:
        out += [rung[pos:start], left, rung[start:end], right]
        pos = end
    return "".join(out + [rung[pos:]])


def _tree_lines(trajectories: list[list[Rung]], style: str) -> list[str]:
    """Trajectories that share their first rungs, printed once as branches of a tree."""
    lines, previous = [], []
    for t in trajectories:
        same = 0
        while same < min(len(t), len(previous)) and t[same] == previous[same] and same < len(t) - 1:
            same += 1
        for depth in range(max(same, 1) if previous else 0, len(t)):
            lines.append(f"{'  ' * depth}{'└ ' if depth else ''}rung {len(t) - 1 - depth}: {marked(t[depth], style)}")
        previous = t
    return lines


def _print_text(trajectories: list[list[Rung]], tree: int, style: str) -> None:
    if tree > 1:
        print("\n".join(_tree_lines(trajectories, style)))
        return
    for i, t in enumerate(trajectories, start=1):
        print(f"=== sample {i} ===")
        for depth, rung in enumerate(t):
            print(f"rung {len(t) - 1 - depth}: {marked(rung, style)}")
        print(f"\n{t[-1]}\n")


def json_trajectory(t: list[Rung], rungs: list[int]) -> list[dict]:
    """One trajectory (whole, or as far as it is written) as `sample --json` and the server give it: each
    rung's number (`rungs`, model.task.Task.rungs), text and kept spans."""
    return [{"rung": k, "text": str(r), "kept": r.kept} for k, r in zip(rungs, t)]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sample",
        description=__doc__,
        epilog="sample eval --help: evaluation; sample serve --help: the HTTP server",
    )
    p.add_argument("--seed", required=True, help="the seed word (or words): the top rung")
    p.add_argument("--steps", type=int, default=None, help="expansion steps (default: the model's levels)")
    add_model(p)
    p.add_argument("--num", type=int, default=1, help="independent expansions, generated as one batch")
    p.add_argument("--tree", type=int, default=1, help="branch B ways at every step (B^steps leaves)")
    add_length(p, "default: the typical text the model was trained on")
    p.add_argument("--temperature", type=float, default=Decoding.temperature, help="0: greedy (default %(default)s)")
    p.add_argument("--top-p", type=float, default=Decoding.top_p, help="nucleus size, 1: all (default %(default)s)")
    p.add_argument("--top-k", type=int, default=Decoding.top_k)
    add_lexicon(p)
    p.add_argument("--rng-seed", type=int, help="makes the output reproducible on the same machine")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--show-kept",
        choices=["auto", "bold", "brackets", "none"],
        default="auto",
        help="how text output marks what each rung kept from the rung above (auto: bold on a terminal)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    return reporting("sample", (ModelError, ValueError), lambda: run(args))  # OptionError is a ValueError


def open_model(model: str | None, device: str | None, precision: str):
    """(folder, model, tokenizer, info, device, precision) for the CLI and the server."""
    import torch

    from model.precision import resolve as resolve_precision

    folder = resolve(model)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    precision, _ = resolve_precision(precision, device)
    return (folder, *load(folder, device, precision), device, precision)


def run(args) -> int:
    import torch

    if not args.seed.strip():
        raise OptionError("seed", "is empty: give a word to expand")
    decoding = Decoding(args.temperature, args.top_p, args.top_k, args.max_new_tokens, args.lexicon)  # checked first
    folder, model, tokenizer, info, device, precision = open_model(args.model, args.device, args.precision)
    steps = info.levels if args.steps is None else args.steps
    rng_seed = args.rng_seed if args.rng_seed is not None else secrets.randbelow(2**31)
    torch.manual_seed(rng_seed)
    words = -1 if args.words is None else args.words
    try:
        trajectories = expand(
            model, tokenizer, info, args.seed, steps, num=args.num, tree=args.tree, decoding=decoding, words=words
        )
    except FloatingPointError as e:
        raise ModelError(f"{folder}: {e}: the weights may be damaged") from None
    if args.json:
        settings_out = {
            "seed": args.seed,
            "steps": steps,
            "num": args.num,
            "tree": args.tree,
            "rng_seed": rng_seed,
            "words": args.words,
            "model": str(folder),
            "objective": info.objective,
            "device": device,
            "precision": precision,
            **decoding.__dict__,
        }
        print(
            json.dumps(
                {
                    "settings": settings_out,
                    "trajectories": [[str(r) for r in t] for t in trajectories],
                    "rungs": [json_trajectory(t, Task(info.task).rungs(steps)) for t in trajectories],
                },
                ensure_ascii=False,
            )
        )
    else:
        style = args.show_kept if args.show_kept != "auto" else ("bold" if sys.stdout.isatty() else "brackets")
        _print_text(trajectories, args.tree, style)
    return 0


if __name__ == "__main__":
    sys.exit(main())
