"""The flags that every command running an expander shares (`sample`, `sample eval`, `sample serve`), so
that each is spelt, checked and explained once."""

from __future__ import annotations

import argparse

PRECISIONS = ["auto", "fp32", "bf16", "fp16"]


def add_model(p: argparse.ArgumentParser) -> None:
    """--model, --device and --precision: which model, and where and how it runs."""
    p.add_argument("--model", help="an export folder or run folder (default: the newest run in runs/)")
    add_placement(p)


def add_placement(p: argparse.ArgumentParser) -> None:
    """--device and --precision."""
    p.add_argument("--device", help="cpu, cuda, cuda:1… (default: a GPU when there is one)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="the model's float precision (auto: bf16 where the hardware computes it natively)",
    )


def add_length(p: argparse.ArgumentParser, default: str) -> None:
    """--words and --max-new-tokens; `default` says what happens without --words."""
    p.add_argument("--words", type=int, default=None, help=f"words of the final text, within -20%%/+25%% ({default})")
    p.add_argument("--max-new-tokens", type=int, help="length limit of every step (default: enough for its words)")


def add_lexicon(p: argparse.ArgumentParser) -> None:
    """--lexicon: which rungs' written words must be words of the training text (model.lexicon)."""
    from sample.decode import LEXICON_MODES, Decoding

    p.add_argument(
        "--lexicon",
        default=Decoding.lexicon,
        choices=LEXICON_MODES,
        help="words a step writes must be words of the model's training text, in the phrase rungs, every "
        "rung or none (default %(default)s)",
    )
