"""TextRank sentence rungs (Mihalcea & Tarau 2004): a sentence similarity graph ranked by PageRank."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import chain

import numpy as np

from compressors import analysis
from compressors.rung import Ranked, Rung
from compressors.select import CannotCompress, greedy_fit, rank_order
from compressors.topic import About, topicality


def similarity(content: list[frozenset[str]], lengths: np.ndarray) -> np.ndarray:
    """Mihalcea & Tarau's overlap: |shared content words| / (log|Si| + log|Sj|), (n, n), zero diagonal.

    `content` holds each sentence's content words, `lengths` (n,) its length in words."""
    # Set intersections, each pair once: a chunk has tens of sentences, for which this beats an
    # incidence matrix product.
    n = len(content)
    upper = np.array(
        [[len(a & b) if j > i else 0 for j, b in enumerate(content)] for i, a in enumerate(content)], dtype=float
    ).reshape(n, n)  # (n, n), zero on and below the diagonal
    overlap = upper + upper.T
    log_len = np.log(np.maximum(lengths, 1))
    denom = log_len[:, None] + log_len[None, :]
    # Two one-word sentences have denominator 0: their overlap (0 or 1) stands as it is.
    sim = np.divide(overlap, denom, out=overlap, where=denom > 0)
    np.fill_diagonal(sim, 0.0)
    return sim


def pagerank(weights: np.ndarray, damping: float = 0.85, teleport: np.ndarray | None = None) -> np.ndarray:
    """Weighted PageRank scores (n,) of a symmetric weight matrix (n, n), isolated nodes scoring 1 - damping.

    The fixed point of s = (1 - d) p + d T's, solved directly: (I - d T') s = (1 - d) p, T
    row-normalized; p (n,) is where a random surfer restarts, uniform (all ones) unless `teleport`
    biases it (topic-sensitive PageRank, Haveliwala 2002), scaled to mean 1 so scores stay comparable.
    """
    out_weight = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, out_weight, out=np.zeros_like(weights), where=out_weight > 0)
    n = len(weights)
    restart = np.ones(n) if teleport is None or teleport.sum() <= 0 else teleport * (n / teleport.sum())
    return np.linalg.solve(np.eye(n) - damping * transition.T, (1 - damping) * restart)


@functools.lru_cache(maxsize=4096)
def analyze(text: str) -> tuple[tuple[str, ...], np.ndarray, list[frozenset[str]], np.ndarray]:
    """(sentences, word counts (n,), content words of each, similarity graph (n, n)), computed once."""
    sents = analysis.sentences(text)
    lengths = np.array([analysis.word_count(s) for s in sents])
    content = [analysis.content_words(s) for s in sents]
    return sents, lengths, content, similarity(content, lengths)


# How strongly restarts favour the most topical sentences. On the Wikipedia part of the default corpus
# (bench/topic_words.py, --levels 4 / 8) the top rung names the title in 0.646 / 0.559 of chunks at
# power 1, 0.668 / 0.578 at 2, 0.685 / 0.590 at 4 and 0.692 / 0.591 at 8; the graph still carries 85%
# of a score (the damping), so centrality keeps its say.
TOPIC_SHARPNESS = 4


@functools.lru_cache(maxsize=4096)
def scores(text: str, about: str | About | None = None) -> np.ndarray:
    """TextRank scores (n,) of the sentences of `text` (shared by every variant: never modify them).

    With `about` (the document `text` was cut from), PageRank restarts at each sentence in proportion to
    the topicality of its most topical word to the power TOPIC_SHARPNESS, so the sentences naming what
    the document is about rank higher and the topic survives into the rungs above."""
    _, _, content, sim = analyze(text)
    if about is None:
        return pagerank(sim)
    topic = topicality(about)
    best = np.array([max([topic.get(w, 0.0) for w in ws], default=0.0) for ws in content])
    return pagerank(sim, teleport=(best / best.max()) ** TOPIC_SHARPNESS if best.max() > 0 else None)


@dataclass(frozen=True)
class TextRank(Ranked):
    """Keep the most central sentences that fit in `target_words`, in their original order, one a line.

    `min_sentences` keeps enough sentences for the sentence rungs above this one to drop one each, and
    `min_content_words` enough content words for the phrase rungs above it.
    """

    target_words: int
    min_sentences: int = 1
    min_content_words: int = 1
    name = "textrank"

    def step(self, source: Rung, rng: np.random.Generator) -> Rung:
        text = source.text
        sents, lengths, content, _ = analyze(text)
        if len(sents) <= self.min_sentences:
            raise CannotCompress("cannot_shrink", f"{len(sents)} sentence(s), need more than {self.min_sentences}")
        order = rank_order(scores(text, self.about), self.temperature, rng)
        budget = min(self.target_words, int(lengths.sum()) - 1)
        chosen = greedy_fit(order, lengths.tolist(), budget, self.min_sentences, len(sents) - 1)
        chosen = self._with_content(chosen, order, content, len(sents) - 1)
        # One sentence a line, and no word spans a line break: the rung's words are its sentences'.
        return Rung(
            "\n".join(sents[i] for i in chosen),
            words=tuple(chain.from_iterable(analysis.words_of(sents[i]) for i in chosen)),
        )

    def _with_content(
        self, chosen: list[int], order: list[int], content: list[frozenset[str]], max_count: int
    ) -> list[int]:
        """Add, or swap in for the poorest chosen sentence, the next best sentences that bring new content
        words, until the phrase rungs above have `min_content_words`. Distinct content words bound the
        words of RAKE's distinct phrases from below, so that many make those rungs possible."""

        def have(selection: list[int]) -> int:
            return len(frozenset().union(*(content[j] for j in selection)))

        for i in order:
            if have(chosen) >= self.min_content_words:
                break
            if i in chosen:
                continue
            poorest = min(chosen, key=lambda j: len(content[j]))
            candidate = [*chosen, i] if len(chosen) < max_count else [j for j in chosen if j != poorest] + [i]
            if have(candidate) > have(chosen):
                chosen = candidate
        return sorted(chosen)
