"""RAKE key-phrase rungs (Rose et al. 2010) through rake-nltk, with no NLTK data.

rake-nltk would download NLTK's stopwords and punkt tables: here its stopwords, sentence splitter and
word tokenizer are given explicitly, and every punctuation mark breaks a phrase. Phrases keep the case
they first had in the text, and a phrase rung lists its phrases in text order, comma separated, so a
phrase rung read by RAKE again gives back exactly its phrases.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import numpy as np

from compressors import text as T
from compressors.select import CannotCompress, rank_order

SEPARATOR = ", "


@functools.cache
def _rake():
    from rake_nltk import Rake as RakeNLTK

    return RakeNLTK(
        stopwords=set(T.stopwords()),
        punctuations={T.PHRASE_BREAK},
        sentence_tokenizer=lambda text: list(T.sentences(text)),
        word_tokenizer=T.rake_tokens,
        include_repeated_phrases=False,
    )


@dataclass(frozen=True)
class Phrases:
    """RAKE's view of a text: phrases in text order with their scores, and the score of each word."""

    phrases: tuple[tuple[str, ...], ...]  # surface words of each phrase
    keys: tuple[tuple[str, ...], ...]  # folded words of each phrase, as rake-nltk has them
    scores: np.ndarray  # (n phrases,) sum of word scores
    word_scores: dict[str, float]  # surface word -> degree / frequency, in text order


Candidates = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (folded words, surface words) each

# Phrase rungs this process wrote, with their phrases: RAKE finds in a phrase rung exactly the phrases
# it lists (they hold no stopword and commas break them), so they need not be searched for again.
_WRITTEN: dict[str, Candidates] = {}


def _sentence_phrases(sentence: str) -> Candidates:
    written = _WRITTEN.get(sentence)
    return written if written is not None else _candidates(sentence)


@functools.lru_cache(maxsize=16384)
def _candidates(sentence: str) -> Candidates:
    """rake-nltk's candidate phrases of one sentence, each as (folded words, surface words)."""
    tokens = T.rake_tokens(sentence)
    folded = T.rake_tokens(T.fold(sentence))
    if len(folded) != len(tokens):  # lowercasing changed a word's length (rare: 'İ'), fold word by word
        folded = [T.fold(t) for t in tokens]
    ignore = _rake().to_ignore
    phrases = _rake()._get_phrase_list_from_words(folded)
    surface = iter(t for t, f in zip(tokens, folded) if f not in ignore)
    return tuple((p, tuple(next(surface) for _ in p)) for p in phrases)


@functools.lru_cache(maxsize=4096)
def analyze(text: str) -> Phrases:
    """Phrases of a text. Candidates are cached per sentence (a sentence rung reuses those of the text
    below it); scores are rake-nltk's degree-to-frequency ratio over the text's distinct phrases."""
    found: dict[tuple[str, ...], tuple[str, ...]] = {}
    for sentence in T.sentences(text):
        for key, surface in _sentence_phrases(sentence):
            found.setdefault(key, surface)
    # RAKE's word score, degree / frequency, as rake-nltk's default metric computes it: a word's degree
    # sums the lengths of the phrases it occurs in (rake-nltk builds a full co-occurrence graph for it).
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for phrase in found:
        for w in phrase:
            frequency[w] += 1
            degree[w] += len(phrase)
    word_score = {w: degree[w] / frequency[w] for w in frequency}
    scores = np.array([sum(word_score[w] for w in p) for p in found], dtype=float)
    words = {s: word_score[w] for p, surface in found.items() for w, s in zip(p, surface)}
    return Phrases(tuple(found.values()), tuple(found), scores, words)


@dataclass(frozen=True)
class Rake:
    """Keep the best key phrases that fit in `target_words`, at least `min_words` words."""

    target_words: int
    min_words: int = 1
    temperature: float = 0.0
    name = "rake"

    def compress(self, text: str, rng: np.random.Generator) -> str:
        found = analyze(text)
        if not found.phrases:
            raise CannotCompress("no_content_words")
        budget = min(self.target_words, T.word_count(text) - 1)
        if budget < self.min_words:
            raise CannotCompress("cannot_shrink", f"{budget + 1} word(s), need at least {self.min_words + 1}")
        order = rank_order(found.scores, self.temperature, rng)
        taken: dict[int, tuple[str, ...]] = {}
        total = 0
        for i in order:
            if total + len(found.phrases[i]) <= budget:
                taken[int(i)] = found.phrases[i]
                total += len(found.phrases[i])
        # Too few words fit whole: top up with the leading words of the next phrases.
        for i in order:
            if total >= self.min_words:
                break
            if int(i) not in taken:
                taken[int(i)] = found.phrases[i][: budget - total]
                total += len(taken[int(i)])
        out = SEPARATOR.join(" ".join(taken[i]) for i in sorted(taken))
        if len(_WRITTEN) > 100_000:
            _WRITTEN.clear()
        _WRITTEN[out] = tuple((found.keys[i][: len(taken[i])], taken[i]) for i in sorted(taken))
        return out


@dataclass(frozen=True)
class SingleWord:
    """The top rung: one content word of the text, by RAKE word score (degree / frequency)."""

    temperature: float = 0.0
    name = "word"

    def compress(self, text: str, rng: np.random.Generator) -> str:
        candidates = analyze(text).word_scores
        if not candidates:
            raise CannotCompress("no_content_words")
        if T.word_count(text) < 2:
            raise CannotCompress("cannot_shrink", "one word left")
        order = rank_order(np.array(list(candidates.values())), self.temperature, rng)
        return list(candidates)[order[0]]
