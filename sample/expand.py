"""Expanding a seed rung by rung: the seed is the top rung, each step samples the rung below.

Every step is one batched pass over all trajectories (model.decoder, at most `BATCH` rows at a time),
so N samples cost one pass per step, not N. With `tree=B` each trajectory branches B ways at every
step. Rungs come back as `model.align.Rung`: text that also knows which of its spans were kept from the
rung above.

Length: the final text is asked to have `words` words (default: the typical text the model was trained
on). Each step is told its rung's length bucket and held inside it (model.rules): rung j aims at
words^(1 - j/L), the ladder's geometric schedule, and every rung has more words than the one above,
so the final text has `words` words within -20%/+25%.

Lexicon: with `Decoding.lexicon` "all" (the default) every step may write only words of the model's
training text (model.lexicon); "phrases" asks it only of the steps that write a phrase rung (whose word
pieces every rung below keeps), "off" of none.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from model.align import Rung
from model.decoder import decode_step, positions_left
from model.export import ExportInfo
from model.format import plan, rung_of, source_ids, words_in
from model.lexicon import LexiconFilter
from model.markers import bucket_bounds, length_bucket
from model.task import Task
from sample.decode import MAX_ROWS, Decoding, OptionError, check_count, draw

__all__ = ["Decoding", "expand", "expand_seeds", "minimum_words", "step_once"]

BATCH = 64  # rows per forward pass: what a step holds in memory at once


def minimum_words(info: ExportInfo, seed: str, steps: int) -> int:
    """The fewest words a final text from `seed` can have: each step adds at least one."""
    task = Task(info.task)
    return 1 if info.causal else words_in(seed) + len(task.steps(steps))


def length_of(rung: int, words: int, levels: int, upper_words: int) -> tuple[int, tuple[int, int | None]]:
    """(length bucket, (fewest, most) words) of rung `rung` on the way to a final text of `words` words."""
    final = bucket_bounds(length_bucket(words))
    target = round(words ** (1 - rung / levels)) if rung else words
    low, high = final if rung == 0 else bucket_bounds(length_bucket(target))
    if rung and final[1] is not None:
        high = final[1] - rung if high is None else min(high, final[1] - rung)  # each later step adds a word
    low = max(low, upper_words + 1)
    high = None if high is None else max(high, low)
    target = max(low, target if high is None else min(target, high))
    return length_bucket(target), (low, high)


def is_phrase_rung(info: ExportInfo, rung: int, words: int | None) -> bool:
    """Whether rung `rung` of a chain toward `words` words is made of phrases, as compressors.ladder makes
    rungs that aim at fewer than `min_sentence_words` words (the chunk: the model's typical text)."""
    words = words or info.text_words or info.max_words
    least = info.ladder.get("min_sentence_words", 0)
    return 0 < rung < info.levels and round(words ** (1 - rung / info.levels)) < least


def lexicon_narrow(tok, info: ExportInfo, decoding: Decoding, step: int, words: int | None):
    """The lexicon filter of `step` (model.lexicon) as decode_step's `narrow`, or None where it is off."""
    if info.words is None or decoding.lexicon == "off":
        return None
    if decoding.lexicon == "phrases" and not is_phrase_rung(info, Task(info.task).below(step), words):
        return None
    return lexicon_filter(tok, info.words).penalty


@functools.lru_cache(maxsize=8)
def lexicon_filter(tok, words: frozenset[str]) -> LexiconFilter:
    return LexiconFilter(tok, words)


def row_input(model, tok, info: ExportInfo, upper: str, step: int, decoding: Decoding, words: int | None):
    """(the source ids, the plan) of one row expanding `upper` at `step` toward a final text of `words` words
    (None: no length asked; the model picks its own). The step's token limit: as asked, else enough for
    its most words and at least the export's."""
    fmt, task = info.step_format, Task(info.task)
    source = source_ids(tok, fmt, upper, step)
    bucket = bounds = None
    if words is not None:
        bucket, bounds = length_of(task.below(step), words, info.levels, 0 if fmt.causal else words_in(upper))
    base = plan(fmt, upper)
    if decoding.max_new_tokens:
        limit = decoding.max_new_tokens
    else:
        most = 0 if bounds is None or bounds[1] is None else 4 * bounds[1] + 2 * base.gaps + 16
        limit = max(info.limit(step), most)
    room = positions_left(model, fmt, [source])
    limit = limit if room is None else min(limit, room)
    return source, replace(base, bucket=bucket, words=bounds, limit=limit)


def step_once(
    model,
    tok,
    info: ExportInfo,
    rungs: list[str],
    step: int,
    decoding: Decoding,
    branches: int = 1,
    generator=None,
    words: int | None = None,
) -> list[Rung]:
    """One sampled expansion of each rung at `step` (`branches` of each, grouped by rung), in batches of BATCH.

    words: the final text's length the chain aims at (None: no length asked; the model picks its own)."""
    fmt = info.step_format
    narrow = lexicon_narrow(tok, info, decoding, step, words)
    uppers = [r for r in rungs for _ in range(branches)]
    out: list[Rung] = []
    for i in range(0, len(uppers), BATCH):
        part = uppers[i : i + BATCH]
        sources, plans = zip(*(row_input(model, tok, info, u, step, decoding, words) for u in part))
        choose = lambda logits, _: draw(logits, decoding, generator)  # noqa: E731
        rows = decode_step(model, tok, fmt, list(sources), list(plans), choose, narrow=narrow)
        out += [rung_of(row, upper, fmt) for row, upper in zip(rows, part)]
    return out


def expand(model, tok, info: ExportInfo, seed: str, steps: int, **options) -> list[list[Rung]]:
    """Trajectories from `seed` (taken as rung `steps`) down to rung 0: each a list of steps + 1 rungs,
    seed first and final text last. A one-shot model (or the autoregressive baseline) writes rung 0 in one
    step: [seed, text]. `options` are those of `expand_seeds`: num, tree, decoding, generator, words."""
    return expand_seeds(model, tok, info, [seed], steps, **options)[0]


def check_request(info: ExportInfo, seeds: list[str], steps: int, num: int, tree: int, words: int | None) -> None:
    """OptionError for a request this model cannot serve: empty seeds, steps, counts and lengths out of range."""
    if not Task(info.task).expands:
        raise OptionError("model", "a judge model of text alone: it expands no seed")
    if not all(seeds):
        raise OptionError("seed", "the seed is empty: give a word to expand")
    check_count("steps", steps, 1, info.levels)
    check_count("num", num, 1, MAX_ROWS)
    check_count("tree", tree, 1, MAX_ROWS)
    rows = len(seeds) * num * tree ** len(Task(info.task).steps(steps))
    if rows > MAX_ROWS:
        raise OptionError("num", f"{rows} samples (num x tree^steps per seed) is more than {MAX_ROWS} at once")
    if words is not None:
        check_count("words", words)
        least = max(minimum_words(info, s, steps) for s in seeds)
        if words < least:
            raise OptionError("words", f"{words} is below the {least} words this seed's chain needs at least")


def expand_seeds(
    model,
    tok,
    info: ExportInfo,
    seeds: list[str],
    steps: int,
    num: int = 1,
    tree: int = 1,
    decoding: Decoding = Decoding(),
    generator=None,
    words: int | None = -1,
) -> list[list[list[Rung]]]:
    """`expand` for several seeds at once, all in one batch per step: the trajectories of each seed.
    `num` independent samples per seed, each branching `tree` ways per step; words: the final text's
    length (-1: the typical text of the model's training data; None: free)."""
    seeds = [" ".join(s.split()) for s in seeds]
    if words == -1:
        words = info.text_words or None
        if words is not None:  # the default yields to a seed longer than the typical text
            words = max(words, max((minimum_words(info, s, steps) for s in seeds if s), default=1))
    check_request(info, seeds, steps, num, tree, words)
    trajectories = [[Rung(seed)] for seed in seeds for _ in range(num)]
    for k in Task(info.task).steps(steps):
        rungs = step_once(model, tok, info, [t[-1] for t in trajectories], k, decoding, tree, generator, words)
        trajectories = [t + [rungs[i * tree + b]] for i, t in enumerate(trajectories) for b in range(tree)]
    per_seed = len(trajectories) // len(seeds)
    return [trajectories[i * per_seed : (i + 1) * per_seed] for i in range(len(seeds))]
