"""`sample --seed WORD --steps S`: expand a seed word rung by rung into text, differently each run."""

from __future__ import annotations

import argparse
import json
import secrets
import sys

from model.align import Rung
from model.export import ModelError, load, resolve
from sample.decode import Decoding
from sample.expand import expand

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


def _json_trajectory(t: list[Rung]) -> list[dict]:
    return [{"rung": len(t) - 1 - depth, "text": str(r), "kept": r.kept} for depth, r in enumerate(t)]


def eval_main(argv: list[str]) -> int:
    from pathlib import Path

    from evaluation import EvalSettings, run as run_eval, table

    p = argparse.ArgumentParser(prog="sample eval", description="Evaluate models side by side on held-out ladders.")
    p.add_argument("--models", nargs="+", required=True, help="export or run folders: the ladder model and baselines")
    p.add_argument("--judge", required=True, help="a text LM trained with data.task: text (configs/judge.yaml)")
    p.add_argument("--data", default="ladders/default-L4", help="a datagen build folder (default ladders/default-L4)")
    p.add_argument("--split", default="val", choices=["train", "val"])
    p.add_argument("--seeds", type=int, default=8, help="held-out top rungs to expand")
    p.add_argument("--num", type=int, default=4, help="samples per seed")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.7, 1.0, 1.3])
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--rng-seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, help="length limit of every step (default: per step, from training)")
    p.add_argument("--device", default=None)
    p.add_argument("--out", default="eval", help="folder for eval.json and eval.png")
    args = p.parse_args(argv)
    import torch

    from model.pairs import DataError

    settings = EvalSettings(models=args.models, judge=args.judge, data=args.data, split=args.split, seeds=args.seeds,
                            num=args.num, temperatures=args.temperatures, top_p=args.top_p, rng_seed=args.rng_seed,
                            max_new_tokens=args.max_new_tokens,
                            device=args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        result = run_eval(settings, Path(args.out))
    except (ModelError, DataError, ValueError) as e:
        print(f"sample eval: error: {e}", file=sys.stderr)
        return 2
    print(table(result))
    print(f"\n{args.out}/eval.json  {args.out}/eval.png")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"]:
        return eval_main(argv[1:])
    p = argparse.ArgumentParser(prog="sample", description=__doc__, epilog="sample eval --help: evaluation")
    p.add_argument("--seed", required=True, help="the seed word (or words): the top rung")
    p.add_argument("--steps", type=int, default=None, help="expansion steps (default: the model's levels)")
    p.add_argument("--model", help="an export folder or run folder (default: the newest run in runs/)")
    p.add_argument("--num", type=int, default=1, help="independent expansions, generated as one batch")
    p.add_argument("--tree", type=int, default=1, help="branch B ways at every step (B^steps leaves)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, help="length limit of every step (default: per step, from training)")
    p.add_argument("--rng-seed", type=int, help="makes the output reproducible on the same machine")
    p.add_argument("--device", help="cpu, cuda, cuda:1… (default: a GPU when there is one)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--show-kept", choices=["auto", "bold", "brackets", "none"], default="auto",
                   help="how text output marks what each rung kept from the rung above (auto: bold on a terminal)")
    args = p.parse_args(argv)
    try:
        return run(args)
    except (ModelError, ValueError) as e:
        print(f"sample: error: {e}", file=sys.stderr)
        return 2


def run(args) -> int:
    import torch

    if not args.seed.strip():
        raise ValueError("--seed is empty: give a word to expand")
    if args.num < 1 or args.tree < 1:
        raise ValueError("--num and --tree must be at least 1")
    folder = resolve(args.model)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer, info = load(folder, device)
    if info.task == "text":
        raise ValueError(f"{folder} is a judge model of text alone: it expands no seed")
    steps = info.levels if args.steps is None else args.steps
    if not 1 <= steps <= info.levels:
        raise ValueError(f"--steps {steps}: this model expands 1 to {info.levels} steps")
    rng_seed = args.rng_seed if args.rng_seed is not None else secrets.randbelow(2**31)
    torch.manual_seed(rng_seed)
    decoding = Decoding(args.temperature, args.top_p, args.top_k, args.max_new_tokens)
    trajectories = expand(model, tokenizer, info, args.seed, steps, args.num, args.tree, decoding)
    if args.json:
        settings_out = {"seed": args.seed, "steps": steps, "num": args.num, "tree": args.tree, "rng_seed": rng_seed,
                        "model": str(folder), "objective": info.objective, "device": device, **decoding.__dict__}
        print(json.dumps({"settings": settings_out, "trajectories": [[str(r) for r in t] for t in trajectories],
                          "rungs": [_json_trajectory(t) for t in trajectories]}, ensure_ascii=False))
    else:
        style = args.show_kept if args.show_kept != "auto" else ("bold" if sys.stdout.isatty() else "brackets")
        _print_text(trajectories, args.tree, style)
    return 0


if __name__ == "__main__":
    sys.exit(main())
