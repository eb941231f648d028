"""A rung handed from one compressor to the next: its text, and what its writer already knows of it.

A compressor writes its rung out of units it has read already (chosen sentences, chosen phrases, one
word), so it knows the rung's words, and a phrase rung its phrases, without reading the text again.
`compressors.ladder.build` hands them on with the text, so the compressor above and the rung check do
not tokenize every rung anew. What is not handed on is read from the text when first asked; handed on
or read, it is the same (tests/test_ladder.py compares them on the default corpus), so a compressor's
`compress(text, rng)` gives what `build` gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compressors import analysis

if TYPE_CHECKING:
    from compressors.topic import About


class _once:
    """functools.cached_property without the lock Python 3.11 takes on every first use (ladders make
    a few hundred thousand rungs): the value is computed on first use and stored on the instance."""

    def __init__(self, compute: Callable[[Any], Any]):
        self.compute, self.name, self.__doc__ = compute, compute.__name__, compute.__doc__

    def __get__(self, rung: Any, owner: type | None = None) -> Any:
        if rung is None:
            return self
        value = rung.__dict__[self.name] = self.compute(rung)
        return value


class Rung:
    """`text`, with its words and (for a phrase rung) RAKE's phrases, each found at most once."""

    def __init__(self, text: str, words: tuple[str, ...] | None = None, phrases: Callable[[], Any] | None = None):
        self.text = text
        if words is not None:
            self.__dict__["words"] = words  # what _once would have stored
        self._phrases = phrases  # makes compressors.rake.Phrases of the text, when its writer can

    @_once
    def phrases(self) -> Any:
        """RAKE's phrases of the text as its writer knows them (made on first use: the top rung's
        never are), else None: compressors.rake.phrases_of then reads them from the text."""
        return self._phrases() if self._phrases is not None else None

    @_once
    def words(self) -> tuple[str, ...]:
        return analysis.words_of(self.text)

    @property
    def word_count(self) -> int:
        return len(self.words)

    @_once
    def distinct(self) -> frozenset[str]:
        """Its distinct words as written: a rung whose words all occur below it needs no forms compared."""
        return frozenset(self.words)

    @_once
    def vocabulary(self) -> frozenset[str]:
        """The forms of its words: what the ladder invariant compares."""
        return analysis.forms(self.words)


class Compressor:
    """A compressor: `step` from a rung to the one above it; `compress` does the same for text alone."""

    def step(self, source: Rung, rng) -> Rung:
        raise NotImplementedError

    def compress(self, text: str, rng) -> str:
        """The rung above `text`, any randomness drawn from the numpy Generator `rng`."""
        return self.step(Rung(text), rng).text


@dataclass(frozen=True, kw_only=True)
class Ranked(Compressor):
    """A compressor that ranks its units (sentences, phrases, words) and keeps the best: by score at
    `temperature` 0, else in an order drawn from the scores (compressors.select.rank_order). With
    `about` (the document the text was cut from) the scores favour its topic (compressors.topic)."""

    temperature: float = 0.0
    about: str | About | None = field(default=None, repr=False)
