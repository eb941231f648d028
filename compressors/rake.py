"""RAKE key-phrase rungs (Rose et al. 2010): rake-nltk's phrases and scores, with no NLTK data.

Candidate phrases are the runs of words between stopwords (NLTK's English list, shipped in
`compressors/data/`) and punctuation, every punctuation mark breaking a phrase; a word scores its
degree over its frequency and a phrase the sum of its words' scores, as rake-nltk 1.0.6 computes them
(the same phrases and scores: tests/test_rake_exact.py). Phrases keep the case they first had in the
text, and a phrase rung lists its phrases in text order, comma separated, so a phrase rung read by
RAKE again gives back exactly its phrases.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from typing import NamedTuple

import numpy as np

from compressors import analysis
from compressors.rung import Ranked, Rung
from compressors.select import CannotCompress, rank_order
from compressors.topic import About, is_topic_word, rarity, topicality

SEPARATOR = ", "


class Phrases(NamedTuple):
    """RAKE's view of a text: phrases in text order with their scores, and the score of each word.
    (A named tuple: one is made per rung, and a frozen dataclass took a tenth of RAKE's time to.)"""

    phrases: tuple[tuple[str, ...], ...]  # surface words of each phrase
    keys: tuple[tuple[str, ...], ...]  # folded words of each phrase, as rake-nltk has them
    scores: list[float]  # (n phrases) sum of word scores
    word_scores: dict[str, float]  # folded word -> degree / frequency
    lengths: list[int]  # (n phrases) words in each phrase


Candidates = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (folded words, surface words) each


def preload() -> None:
    """Load the tables every ladder needs (stopwords, punkt's, word frequencies) in this process, so
    that workers forked after it share them instead of each loading its own."""
    analysis.stopwords()
    analysis.sentences("Mr. Woodhouse slept. Emma read.")
    rarity("emma")
    is_topic_word("Emma")


@functools.cache
def _ignored() -> frozenset[str]:
    """What breaks a phrase: a stopword, or "" (candidates' token for any other character)."""
    return analysis.stopwords() | {""}


@functools.lru_cache(maxsize=65536)
def candidates(line: str) -> Candidates:
    """RAKE's candidate phrases of one line, each as (folded words, surface words): the runs of words
    between stopwords and punctuation, as rake-nltk 1.0.6's `_get_phrase_list_from_words` cuts them.

    Done here in one pass over the tokens rather than through rake-nltk, whose import pulls NLTK and
    SciPy (a second of every build) and whose per-sentence calls were 15% of the ladder time;
    tests/test_rake_exact.py shows rake-nltk gives the same phrases and scores on the default corpus.
    Per line, not per sentence: sentences end at punctuation, which breaks a phrase anyway.
    """
    ignore = _ignored()
    words = analysis.TOKEN.findall(line)  # a word, or "" for any other character: a break
    # analysis.fold word by word, without a call per word: a third of this function's time went to calls.
    keys = [w.lower() for w in words]
    if "’" in line:
        keys = [k.replace("’", "'") for k in keys]
    bounds = [-1, *[i for i, key in enumerate(keys) if key in ignore], len(keys)]
    return tuple((tuple(keys[a + 1 : b]), tuple(words[a + 1 : b])) for a, b in zip(bounds, bounds[1:]) if b > a + 1)


@functools.lru_cache(maxsize=4096)
def analyze(text: str) -> Phrases:
    """Phrases of a text, each distinct phrase once, and rake-nltk's degree-to-frequency scores."""
    found: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line in text.split("\n"):
        for key, surface in candidates(line):
            found.setdefault(key, surface)
    return scored(found)


def phrases_of(rung: Rung) -> Phrases:
    """RAKE's phrases of a rung: as its writer handed them on, else read from its text."""
    return rung.phrases if rung.phrases is not None else analyze(rung.text)


def scored(found: dict[tuple[str, ...], tuple[str, ...]]) -> Phrases:
    """Phrases from (folded words -> surface words) of each distinct phrase, in text order."""
    # RAKE's word score, degree / frequency, as rake-nltk's default metric computes it: a word's degree
    # sums the lengths of the phrases it occurs in (rake-nltk builds a full co-occurrence graph for it),
    # so counting each phrase len(phrase) times gives it.
    frequency = Counter(chain.from_iterable(found))
    degree = Counter(chain.from_iterable(p * len(p) for p in found))
    word_score = {w: degree[w] / n for w, n in frequency.items()}
    # Most phrases are one word, whose sum is its score (0 + x is x). Lists, not arrays: a rung has tens
    # of phrases, where each numpy operation costs more than the arithmetic (topical_scores).
    scores = [word_score[p[0]] if len(p) == 1 else sum(map(word_score.__getitem__, p)) for p in found]
    return Phrases(tuple(found.values()), tuple(found), scores, word_score, list(map(len, found)))


def surface_scores(found: Phrases) -> dict[str, float]:
    """surface word -> RAKE word score (degree / frequency), in text order."""
    return {s: found.word_scores[w] for key, surface in zip(found.keys, found.phrases) for w, s in zip(key, surface)}


def topical_scores(found: Phrases, about: str | About) -> np.ndarray:
    """Phrase scores (n,) that keep the topic: RAKE's score per word of the phrase, times the square
    of how topical its most topical word is, relative to the text's most topical phrase.

    Per word, because a phrase rung has a word budget: RAKE's sum grows with the square of a phrase's
    length and would spend the budget on long phrases. Squared, so that at rung L-1 (a few words) a
    phrase naming the topic beats a longer one that does not; on the Wikipedia part of the default
    corpus this keeps a title word in rung L-1 of 0.73 of chunks, against 0.23 with RAKE alone
    (bench/README.md)."""
    known, topic = _phrase_topicality(about), topicality(about)
    best = [
        known[k] if k in known else known.setdefault(k, max([topic.get(analysis.form(w), 0.0) for w in k]))
        for k in found.keys
    ]
    top = max(best)
    if top <= 0:
        return np.array([s / n for s, n in zip(found.scores, found.lengths)])
    # In Python floats, operation for operation what scores / lengths * (best / top)**2 gives in numpy
    # (the same IEEE double results): four array operations on tens of phrases cost more than this.
    return np.array([s / n * ((b / top) * (b / top)) for s, n, b in zip(found.scores, found.lengths, best)])


@functools.lru_cache(maxsize=256)
def _phrase_topicality(about: str | About) -> dict[tuple[str, ...], float]:
    """folded words of a phrase -> how topical in `about` its most topical word is, filled in by
    topical_scores as phrases are met (the same phrase recurs in every variant of every chunk)."""
    return {}


@dataclass(frozen=True)
class Rake(Ranked):
    """Keep the best key phrases that fit in `target_words`, at least `min_words` words.

    With `about` (the document the text was cut from) phrases are ranked by `topical_scores`, to keep
    what it is about; else by RAKE's score alone.
    """

    target_words: int
    min_words: int = 1
    name = "rake"

    def step(self, source: Rung, rng: np.random.Generator) -> Rung:
        found = phrases_of(source)
        if not found.phrases:
            raise CannotCompress("no_content_words")
        budget = min(self.target_words, source.word_count - 1)
        if budget < self.min_words:
            raise CannotCompress("cannot_shrink", f"{budget + 1} word(s), need at least {self.min_words + 1}")
        scores = np.array(found.scores) if self.about is None else topical_scores(found, self.about)
        order = rank_order(scores, self.temperature, rng)
        taken: dict[int, tuple[str, ...]] = {}
        total = 0
        for i in order:
            if total + len(found.phrases[i]) <= budget:
                taken[i] = found.phrases[i]
                total += len(found.phrases[i])
        # Too few words fit whole: top up with the leading words of the next phrases.
        for i in order:
            if total >= self.min_words:
                break
            if i not in taken:
                taken[i] = found.phrases[i][: budget - total]
                total += len(taken[i])
        return self._rung([(found.keys[i][: len(taken[i])], taken[i]) for i in sorted(taken)])

    @staticmethod
    def _rung(kept: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> Rung:
        """The phrase rung of the kept (folded words, surface words), in text order. RAKE reads it back
        as exactly these phrases: they hold no stopword, and the separator breaks between them."""
        found: dict[tuple[str, ...], tuple[str, ...]] = {}
        for key, surface in kept:
            found.setdefault(key, surface)
        text = SEPARATOR.join(" ".join(surface) for _, surface in kept)
        return Rung(
            text, words=tuple(chain.from_iterable(surface for _, surface in kept)), phrases=lambda: scored(found)
        )


@dataclass(frozen=True)
class SingleWord(Ranked):
    """The top rung: one content word of the text, possessive dropped ("Apollo's" gives "Apollo").

    With `about` (the document the text was cut from), the word of the text most topical in it
    (`compressors.topic`); else the best RAKE word score (degree / frequency) of the text.
    """

    name = "word"

    def step(self, source: Rung, rng: np.random.Generator) -> Rung:
        if source.word_count < 2:
            raise CannotCompress("cannot_shrink", "one word left")
        candidates = self._candidates(source)
        if not candidates:
            raise CannotCompress("no_content_words")
        order = rank_order(np.array(list(candidates.values())), self.temperature, rng)
        word = analysis.strip_possessive(list(candidates)[order[0]])
        return Rung(word, words=(word,))

    def _candidates(self, source: Rung) -> dict[str, float]:
        """surface word -> score, one surface per form (its first), in text order. RAKE's word scores
        when no word of the text can be a topic (only "Mr" and "would", say)."""
        by_form: dict[str, str] = {}
        for w in source.words if self.about is not None else ():
            if is_topic_word(w):
                by_form.setdefault(analysis.form(w), w)
        if not by_form:
            return surface_scores(phrases_of(source))
        topic = topicality(self.about)
        return {w: topic.get(f, 0.0) for f, w in by_form.items()}
