"""What a text is about: a topicality score for each of its content words.

A word is topical when the text says it often and general English says it rarely: its count over the
whole document the chunk was cut from (the chunk itself when no document is given), forms folded
(case, possessive 's), times its rarity, -log10 of its frequency in general English from `wordfreq`'s
English list (offline, shipped in its wheel): "Lincoln" said 6 times (rarity 4.7) outscores "time"
said 9 times (rarity 2.7). A word the list lacks counts as rarer than any it holds (rarity 8).
Counted over the document, not the chunk: a section's subject is said all through it, while a name
said often in one chunk is often a detail (bench/README.md measures both). Where the document has a
title (`About`), a word of the title that the document says outranks every other: the title names the
topic, where counts and rarity only guess it (a Jargon File entry explains its term in other words).

The score biases TextRank's PageRank toward sentences naming the topic (`compressors/textrank.py`),
weights which RAKE phrases survive into the phrase rungs (`compressors/rake.py`), so the topic survives
up to rung L-1, and chooses the top rung's word from there.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import re
from collections import Counter
from importlib import resources
from typing import NamedTuple

from compressors import analysis

UNLISTED_RARITY = 8.0  # the list stops at 10^-8 (zipf 1): a word it lacks is rarer than that
DIGIT = re.compile(r"\d")


@functools.cache
def english_rarities() -> dict[str, float]:
    """wordfreq's English 'large' list as word -> rarity (-log10 frequency).

    Read from its cBpack file (msgpack: a header, then bucket i holds the words of frequency 10^(-i/100))
    rather than through `import wordfreq`, which pulls ftfy and langcodes: a quarter second of every
    build for nothing we use.
    """
    import msgpack

    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the wordfreq package is needed for topic scores: pip install wordfreq")
    path = os.path.join(spec.submodule_search_locations[0], "data", "large_en.msgpack.gz")
    with gzip.open(path) as f:
        header, *buckets = msgpack.load(f, raw=False)
    if header.get("format") != "cB":
        raise ValueError(f"{path}: not a wordfreq cBpack file ({header})")
    rarities: dict[str, float] = {}
    for i, bucket in enumerate(buckets):  # a word in two buckets keeps the later, as a comprehension would
        rarities.update(dict.fromkeys(bucket, i / 100))  # half the time of a comprehension over 321,000 words
    return rarities


@functools.lru_cache(maxsize=65536)
def rarity(form: str) -> float:
    """-log10 of the word's frequency in general English; wordfreq lists numbers with digits as 0."""
    return english_rarities().get(DIGIT.sub("0", form), UNLISTED_RARITY)


@functools.cache
def not_topics() -> frozenset[str]:
    """Stopwords, and the words of data/not-topics-en.txt: honorifics, modal verbs, quantifiers."""
    lines = resources.files("compressors").joinpath("data/not-topics-en.txt").read_text("utf-8").splitlines()
    return analysis.stopwords() | {line.strip() for line in lines if line.strip() and not line.startswith("#")}


@functools.lru_cache(maxsize=65536)
def is_topic_word(word: str) -> bool:
    """A content word in RAKE's view (folded) that can be a topic, also as a form ("it's" is "it")."""
    excluded = not_topics()
    return analysis.fold(word) not in analysis.stopwords() and analysis.form(word) not in excluded


@functools.lru_cache(maxsize=65536)
def _topic_form(folded: str) -> str:
    """The form a folded word counts under as a topic, or "" when it cannot be one."""
    return analysis.form(folded) if is_topic_word(folded) else ""


class About(NamedTuple):
    """What a chunk is about: the document it was cut from, and the document's title ("" where none)."""

    document: str
    title: str = ""


@functools.lru_cache(maxsize=256)
def topicality(about: str | About) -> dict[str, float]:
    """form -> count in the document times rarity, for every content word of it, in text order; a title
    word the document says gets the document's highest score on top, so title words come first.

    Cached (never modify the result): every rung of every variant of every chunk of a document asks
    for the document's."""
    text, title = (about, "") if isinstance(about, str) else about
    scores = _counted(text)
    named = {f for w in analysis.words(title) if (f := _topic_form(analysis.fold(w))) in scores}
    if not named:
        return scores
    lift = max(scores.values())
    return {f: s + lift if f in named else s for f, s in scores.items()}


def _counted(text: str) -> dict[str, float]:
    """form -> count in `text` times rarity, for every content word of `text`, in text order."""
    # Folded before counting: a document has far fewer distinct folded words than cased ones. Folded
    # all at once, joined by spaces (no word holds one): a call per word cost more than the fold.
    words = analysis.document_words(text)
    folded = Counter(analysis.fold(" ".join(words)).split(" ") if words else ())
    counts: dict[str, int] = {}
    for form, n in zip(map(_topic_form, folded), folded.values()):
        if form:
            counts[form] = counts.get(form, 0) + n
    return {f: n * r for (f, n), r in zip(counts.items(), map(rarity, counts))}
