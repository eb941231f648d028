"""A compression ladder: rung 0 is a text, each rung above is made from the one below, rung L is a word.

Which compressor makes each rung is planned once per text from its length schedule: TextRank while
the target is a few sentences long, RAKE key phrases below that, one word at the top, all steered
toward what the text's document is about (compressors/topic.py). Each text gets
`variants` ladders: variant 0 takes the best-scored units, the others draw them in proportion to
their scores, each from its own generator seeded by (seed, document, chunk, variant), so a ladder
never depends on worker count, order or machine.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from compressors import analysis, schedule
from compressors.rake import Rake, SingleWord
from compressors.rung import Rung
from compressors.select import CannotCompress
from compressors.textrank import TextRank
from compressors.topic import About

SCORERS = ("topic", "rake")


@dataclass(frozen=True)
class LadderConfig:
    levels: int = field(default=4, metadata={"help": "L: rungs 1..L above the text"})
    variants: int = field(default=4, metadata={"help": "K: ladders per chunk"})
    schedule: str = field(
        default="geometric",
        metadata={"help": "length schedule (compressors.schedule)", "choices": tuple(schedule.SCHEDULES)},
    )
    temperature: float = field(
        default=1.0, metadata={"help": "sampling temperature of variants 1..K-1; 0 makes them all variant 0"}
    )
    min_sentence_words: int = field(
        default=24, metadata={"help": "rungs aiming at fewer words are made of phrases, not sentences"}
    )
    seed: int = field(default=0, metadata={"help": "seed of every variant's draws, with document, chunk, variant"})
    # How sentences, phrases and the top word are ranked: "topic" (TextRank and RAKE steered by the
    # topicality of the document's words, compressors.topic) or "rake" (TextRank and RAKE alone, as
    # ladders were built before it). A field here, so build.json records it and a resume across a
    # change of scorer is refused.
    scorer: str = "topic"

    def validate(self) -> None:
        checks = {
            "levels": self.levels >= 1,
            "variants": self.variants >= 1,
            "schedule": self.schedule in schedule.SCHEDULES,
            "temperature": self.temperature >= 0,
            "min_sentence_words": self.min_sentence_words >= 1,
            "seed": self.seed >= 0,
            "scorer": self.scorer in SCORERS,
        }
        for key, ok in checks.items():
            if not ok:
                raise ValueError(f"invalid ladder setting {key}={getattr(self, key)!r}")


@dataclass(frozen=True)
class Ladder:
    methods: tuple[str, ...]  # (L,) the compressor that made each rung 1..L
    variants: list[list[str]]  # (K, L) rungs 1..L of each variant


@functools.lru_cache(maxsize=1024)
def stable_hash(s: str, salt: str = "") -> int:
    """A 64-bit hash that is the same in every process and on every machine (unlike hash())."""
    return int.from_bytes(
        hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=8, person=salt.encode()[:16]).digest(), "little"
    )


def _uint32_words(n: int) -> list[int]:
    """n as numpy's SeedSequence splits a Python int: 32-bit words, least significant first."""
    words = [n & 0xFFFFFFFF]
    while n := n >> 32:
        words.append(n & 0xFFFFFFFF)
    return words


def variant_rng(seed: int, doc_id: str, chunk: int, variant: int) -> np.random.Generator:
    """np.random.default_rng([seed, stable_hash(doc_id), chunk, variant]), the same stream, with the
    seed words given as an array: numpy's own splitting of Python ints cost a third of this call."""
    entropy = [w for n in (seed, stable_hash(doc_id), chunk, variant) for w in _uint32_words(n)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(np.array(entropy, dtype=np.uint32))))


def plan(text: str, cfg: LadderConfig, document: str | None = None, title: str = "") -> list:
    """The compressors for rungs 1..L of `text` at temperature 0, or CannotCompress with the reason.

    With the "topic" scorer they keep what `document` is about (the whole document the chunk `text` was
    cut from; the chunk itself when not given), named by its `title` where it has one: the topicality
    of its words (compressors.topic)."""
    words = analysis.words_by_sentence(text)
    n = len(words)
    if n == 0:
        raise CannotCompress("empty")
    if n <= cfg.levels:
        raise CannotCompress("too_short", f"{n} words for {cfg.levels} levels")
    stopwords = analysis.stopwords()
    if all(analysis.form(w) in stopwords for w in words):  # stops at the first content word
        raise CannotCompress("no_content_words")
    about = About(document or text, title) if cfg.scorer == "topic" else None
    targets = schedule.targets(n, cfg.levels, cfg.schedule)
    n_sentences = len(analysis.sentences(text))
    n_textrank = 0
    while n_textrank < min(cfg.levels - 1, n_sentences - 1) and targets[n_textrank] >= cfg.min_sentence_words:
        n_textrank += 1
    steps: list = [
        TextRank(targets[k], min_sentences=n_textrank - k, min_content_words=cfg.levels - k - 1, about=about)
        for k in range(n_textrank)
    ]
    steps += [Rake(targets[k], min_words=cfg.levels - k, about=about) for k in range(n_textrank, cfg.levels - 1)]
    return steps + [SingleWord(about=about)]


def check(rungs: list[Rung] | list[str]) -> None:
    """Raise CannotCompress('invalid_ladder') unless rungs 0..L shrink strictly, each made of words of
    the rung below (compared as forms: case and a possessive 's aside), up to a single word."""
    rungs = [r if isinstance(r, Rung) else Rung(r) for r in rungs]
    counts = [r.word_count for r in rungs]
    for k in range(1, len(rungs)):
        if counts[k] >= counts[k - 1] or counts[k] == 0:
            raise CannotCompress("invalid_ladder", f"rung {k} has {counts[k]} words, rung {k - 1} {counts[k - 1]}")
        # Words found as written below need no forms: only a changed case or a dropped 's does.
        if rungs[k].distinct <= rungs[k - 1].distinct:
            continue
        extra = rungs[k].vocabulary - rungs[k - 1].vocabulary
        if extra:
            raise CannotCompress("invalid_ladder", f"rung {k} adds {sorted(extra)[:3]}")
    if counts[-1] != 1:
        raise CannotCompress("invalid_ladder", f"top rung has {counts[-1]} words")


def build(
    text: str, cfg: LadderConfig, doc_id: str = "", chunk: int = 0, document: str | None = None, title: str = ""
) -> Ladder:
    """All variants of the ladder of one text (chunk `chunk` of `document`, whose id is `doc_id` and
    whose title is `title`), or CannotCompress naming why it has none."""
    greedy = plan(text, cfg, document, title)
    sampled = [replace(step, temperature=cfg.temperature) for step in greedy]
    source = Rung(text, words=analysis.words_by_sentence(text))
    variants = []
    for v in range(cfg.variants):
        # Variant 0 takes the best units (temperature 0) and draws nothing: no generator to seed.
        rng = variant_rng(cfg.seed, doc_id, chunk, v) if v > 0 else None
        rungs = [source]
        for step in greedy if v == 0 else sampled:
            rungs.append(step.step(rungs[-1], rng))
        check(rungs)
        variants.append([r.text for r in rungs[1:]])
    return Ladder(tuple(step.name for step in greedy), variants)
