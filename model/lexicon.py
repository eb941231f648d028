"""The words of a model's training text (`lexicon.txt` of its export), and the sampling filter built on them.

A small model writing a phrase rung stitches word pieces into words no text holds ("eness", "unpging"),
and every rung below keeps them verbatim. With the filter on, each word a step writes must be a word of
the training text: a token may continue a word only toward a lexicon word, and may end one only where it
is one. Kept fragments are never checked (a seed may be any word). Like top-p it truncates what sampling
draws from, and only that: the loss and the codec code under the rules of model.rules alone, so a text
whose words the lexicon lacks still has a finite code length.

Words are runs of letters and digits (an apostrophe splits "don't" into "don" and "t", both met in the
text), compared case-folded; a run of digits is always a word.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from model.rules import IN_WORD, Row, token_table

FILE = "lexicon.txt"
MIN_COUNT = 2  # a word met once is as likely a typo or an OCR slip as a word
RUN = re.compile(r"[^\W_]+")  # letters and digits, as str.isalnum (model.rules' word characters)
_TRAILING = re.compile(r"[^\W_]+$")
PIECES = 12  # the written pieces (tokens' texts) a partial word is read from


class WordCounter:
    """Counts the words of texts: `count` reads them, `counted` passes them on as it counts (one pass for
    the tokenizer's training and the lexicon)."""

    def __init__(self):
        self.counts: Counter[str] = Counter()

    def count(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.counts.update(w.casefold() for w in RUN.findall(text))

    def counted(self, texts: Iterable[str]) -> Iterator[str]:
        for text in texts:
            self.count((text,))
            yield text

    def words(self, min_count: int = MIN_COUNT) -> list[str]:
        return sorted(w for w, n in self.counts.items() if n >= min_count and not w.isdigit())


def write(folder: Path, words: list[str]) -> None:
    (folder / FILE).write_text("".join(w + "\n" for w in words), encoding="utf-8")


def read(folder: Path) -> frozenset[str] | None:
    """The lexicon of an export folder, None for an export written before it had one."""
    path = folder / FILE
    return frozenset(path.read_text(encoding="utf-8").split()) if path.exists() else None


class LexiconFilter:
    """Per tokenizer and lexicon: which tokens may follow a word written so far (`partial`, case-folded).

    Each token is split once into its lead (the letters and digits that continue the partial word), whether
    it then ends that word (`closes`: anything else follows, or it is a control token), and the words after
    the lead, which must be lexicon words (the last of them, if the token ends inside it, a prefix of one)."""

    def __init__(self, tok, words: frozenset[str]):
        table = token_table(tok)
        self.words = words
        self.prefixes = {w[:i] for w in words for i in range(1, len(w) + 1)}
        self.sorted_words = sorted(words)
        self.static = np.zeros(table.vocab, dtype=bool)  # (V,): the token's own words pass
        groups: dict[tuple[str, bool], list[int]] = {}
        for i, data in enumerate(table.bytes):
            lead, closes, ok = ("", True, True) if table.control[i] else self._split(data)
            self.static[i] = ok
            groups.setdefault((lead, closes), []).append(i)
        ids = {key: np.array(found) for key, found in groups.items()}
        empty = np.zeros(0, dtype=np.int64)
        # lead -> (the tokens with it that go on in the word, those that end the word after it)
        self.by_lead = {lead: (ids.get((lead, False), empty), ids.get((lead, True), empty)) for lead, _ in ids if lead}
        self.bare = ids.get(("", True), empty)  # tokens that end the word at once (control tokens among them)
        self.digit_leads = [lead for lead in self.by_lead if lead.isdigit()]

    def _split(self, data: bytes) -> tuple[str, bool, bool]:
        try:
            text = data.decode("utf-8").casefold()
        except UnicodeDecodeError:  # a piece of a character: its word cannot be checked, so it is not written
            return "", True, False
        runs = [(m.start(), m.end()) for m in RUN.finditer(text)]
        lead = text[: runs[0][1]] if runs and runs[0][0] == 0 else ""
        rest = runs[1:] if lead else runs
        if lead and not rest and len(lead) == len(text):
            return lead, False, True
        inner = [text[a:b] for a, b in rest]
        trail = inner.pop() if rest and rest[-1][1] == len(text) else None
        ok = all(self.is_word(w) for w in inner) and (trail is None or self.is_prefix(trail))
        return lead, True, ok

    def is_word(self, run: str) -> bool:
        return run.isdigit() or run in self.words

    def is_prefix(self, run: str) -> bool:
        return run.isdigit() or run in self.prefixes

    def mask(self, partial: str) -> np.ndarray:
        """(V,) bool: the tokens that keep the word begun as `partial` ("" outside a word) on its way to one.

        Built from the lexicon words that go on from `partial`: each of their continuations that is a
        token's lead allows the tokens that go on with it, and a whole one those that end the word there."""
        out = np.zeros_like(self.static)
        out[self.bare] = partial == "" or self.is_word(partial)
        leads = set(self.digit_leads) if partial == "" or partial.isdigit() else set()
        ends = set(leads)
        for word in self._completions(partial):
            rest = word[len(partial) :]
            leads.update(rest[:i] for i in range(1, len(rest) + 1))
            ends.add(rest)
        for lead in leads & self.by_lead.keys():
            going, ending = self.by_lead[lead]
            out[going] = True
            if lead in ends:
                out[ending] = True
        return out & self.static

    def _completions(self, partial: str):
        """The lexicon words that begin with `partial`, in order."""
        start = bisect.bisect_left(self.sorted_words, partial)
        for word in self.sorted_words[start:]:
            if not word.startswith(partial):
                return
            yield word

    def penalty(self, rows: list[Row], _indices: list[int] | None = None):
        """(b, V) float32: 0 where each row may write a token as far as the lexicon goes, -inf elsewhere; a row
        with an unfinished character (its next token is a continuation byte) is left to the rules. The
        signature of model.decoder's `narrow`."""
        import torch

        return torch.stack([self._penalty(None if r.prefix else partial_word(r)) for r in rows])

    @functools.lru_cache(maxsize=1024)  # 16 KB each at 4,000 tokens
    def _penalty(self, partial: str | None):
        """`mask(partial)` as a (V,) float32 penalty, built once per partial (None: no limit)."""
        import torch

        if partial is None:
            return torch.zeros(len(self.static))
        return torch.zeros(len(self.static)).masked_fill_(torch.from_numpy(~self.mask(partial)), float("-inf"))


def partial_word(row: Row) -> str:
    """The letters and digits the row's current gap ends in, case-folded, while it is inside a word."""
    if row.state != IN_WORD or not row.texts or not row.texts[-1]:
        return ""
    pieces = row.texts[-1]
    m = _TRAILING.search(pieces[-1])
    if m is None or m.start() == 0:  # the word began in an earlier token: read back a few more
        m = _TRAILING.search("".join(pieces[-PIECES:]))  # a word of more tokens is rarer than a typo
    return m.group(0).casefold() if m else ""
