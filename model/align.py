"""How rung k sits inside rung k - 1: its fragments, in order, with gaps around them.

Every rung is an ordered list of fragments (a sentence a line for TextRank rungs, comma-separated
phrases for RAKE rungs, the word at the top), each found verbatim and in order in the rung below:

    rung k-1 = gap_0 + fragment_1 + gap_1 + … + fragment_n + gap_n

The split uses the text alone (no method column), so sampling splits a generated rung exactly as
training split a stored one. Fragments are matched leftmost-first at word boundaries: a fragment that
starts with a letter or digit never follows a word (or a word and an apostrophe), and one that ends with
one is never followed by one, so every fragment's words are words of the rung below (model.rules
decodes under the same rule). Leftmost-first finds such an embedding whenever one exists, and it is a
convention the model can learn.
"""

from __future__ import annotations

from model.rules import APOSTROPHES

PHRASE_SEPARATOR = ", "


def fragments(rung: str) -> list[str]:
    """Lines when the rung has several (sentence rungs), else its comma-separated phrases; never empty ones."""
    lines = rung.split("\n")
    parts = lines if len(lines) > 1 else rung.split(PHRASE_SEPARATOR)
    return [p for p in parts if p]


def _whole(text: str, start: int, fragment: str) -> bool:
    """Whether `fragment` at `start` of `text` keeps its first and last words whole there."""
    if fragment[0].isalnum() and start > 0:
        before = text[start - 1]
        if before.isalnum() or (before in APOSTROPHES and start > 1 and text[start - 2].isalnum()):
            return False
    end = start + len(fragment)
    return not (fragment[-1].isalnum() and end < len(text) and text[end].isalnum())


def find_whole(text: str, fragment: str, pos: int) -> int:
    """The first start >= pos where `fragment` stands in `text` with its words whole, or -1."""
    found = text.find(fragment, pos)
    while found >= 0 and not _whole(text, found, fragment):
        found = text.find(fragment, found + 1)
    return found


def align(upper: str, lower: str) -> list[str] | None:
    """The n + 1 gaps of `lower` around the n fragments of `upper`, or None when they are not in it in
    order with their words whole."""
    gaps, pos = [], 0
    for fragment in fragments(upper):
        found = find_whole(lower, fragment, pos)
        if found < 0:
            return None
        gaps.append(lower[pos:found])
        pos = found + len(fragment)
    gaps.append(lower[pos:])
    return gaps


def interleave(parts: list[str], gaps: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """(gap_0 + part_1 + gap_1 + … + part_n + gap_n, the character span of each part in it).

    Missing trailing gaps are empty: a step cut by its length limit still keeps every fragment."""
    gaps = list(gaps[: len(parts) + 1]) + [""] * (len(parts) + 1 - len(gaps))
    out, spans, pos = [gaps[0]], [], len(gaps[0])
    for part, gap in zip(parts, gaps[1:]):
        spans.append((pos, pos + len(part)))
        out += [part, gap]
        pos += len(part) + len(gap)
    return "".join(out), spans


class Rung(str):
    """A rung's text that also knows which character spans were kept verbatim from the rung above.

    A str, so it prints, compares and serializes as its text; `kept` is None where nothing is known
    (a seed, or a `rewrite` model's output that does not contain its rung above in order)."""

    kept: list[tuple[int, int]] | None

    def __new__(cls, text: str, kept: list[tuple[int, int]] | None = None):
        rung = super().__new__(cls, text)
        rung.kept = kept
        return rung


def kept_spans(upper: str, lower: str) -> list[tuple[int, int]] | None:
    """The spans of `lower` where the fragments of `upper` are found, in order (None if they are not)."""
    gaps = align(upper, lower)
    return None if gaps is None else interleave(fragments(upper), gaps)[1]
