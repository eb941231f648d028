"""Metrics of evaluation, as plain functions of texts (hand-checkable in tests/test_metrics.py).

Words are those of the ladder contract (compressors.analysis), folded to lower case.
"""

from __future__ import annotations

import math
from collections import Counter

from compressors import analysis


def words(text: str) -> list[str]:
    return [analysis.fold(w) for w in analysis.words(text)]


def unigram_entropy(text: str) -> float | None:
    """Entropy in bits of the word distribution within one text (MDLM's per-sample entropy); None: no words."""
    counts = Counter(words(text))
    n = sum(counts.values())
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else None


def non_word_rate(texts: list[str]) -> float | None:
    """The share of the texts' words that general English does not know: absent from wordfreq's English
    list (read offline, as compressors.topic does), a possessive 's and digits aside. None: no words."""
    from compressors.topic import DIGIT, english_rarities

    known = english_rarities()
    found = [DIGIT.sub("0", analysis.form(w)) in known for t in texts for w in analysis.words(t)]
    return 1 - sum(found) / len(found) if found else None


def ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def distinct_n(texts: list[str], n: int) -> float | None:
    """Distinct n-grams over all n-grams of the texts pooled (Li et al. 2016); None when there are none."""
    grams = [g for t in texts for g in ngrams(words(t), n)]
    return len(set(grams)) / len(grams) if grams else None


def self_bleu(texts: list[str]) -> float | None:
    """Mean sentence BLEU (sacrebleu, 0-100) of each text against the others (Zhu et al. 2018): high
    when the samples of one seed repeat each other. None for fewer than two texts."""
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        return None
    bleu = BLEU(effective_order=True)
    scores = [bleu.sentence_score(t, texts[:i] + texts[i + 1 :]).score for i, t in enumerate(texts)]
    return sum(scores) / len(scores)


def coverage(trajectory: list[str]) -> list[float | None]:
    """For each rung above the final text (seed first), the share of its distinct words found in the final text."""
    final = set(words(trajectory[-1]))
    out = []
    for rung in trajectory[:-1]:
        vocab = set(words(rung))
        out.append(len(vocab & final) / len(vocab) if vocab else None)
    return out


def kept_share(upper: str, lower: str) -> float | None:
    """The share of the distinct words of `upper` (a rung) found among the words of `lower` (its expansion)."""
    vocab = set(words(upper))
    return len(vocab & set(words(lower))) / len(vocab) if vocab else None


def bits_per_byte(nats: float, text_bytes: int) -> float:
    """A loss summed over a text's tokens, in nats, as bits per UTF-8 byte of that text (tokenizer-free)."""
    return nats / math.log(2) / max(text_bytes, 1)


def chrf(hypotheses: list[str], references: list[str]) -> float:
    """Corpus chrF (sacrebleu, 0-100) of hypotheses against one reference each."""
    from sacrebleu.metrics import CHRF

    return CHRF().corpus_score(hypotheses, [references]).score


def mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
