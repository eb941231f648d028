"""Words, sentences, stopwords and chunks: the text analysis every compressor shares.

A *word* is a run of word characters, with inner apostrophes ("Woodhouse's"); everything else is a
break. Ladder invariants (strictly shorter rungs, words of the rung below) are stated in these words.
Sentence rungs hold one sentence per line, so a rung splits back into exactly the sentences chosen.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from itertools import chain

import punkt
from punkt.rules import boundaries as _punkt_boundaries

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Words, or any other single non-space character (a phrase break for RAKE).
TOKEN = re.compile(r"([^\W_]+(?:['’][^\W_]+)*)|\S")
PARAGRAPH = re.compile(r"\n\s*\n")
# Whitespace that collapsing runs to one space changes: a run that starts with another whitespace
# character, or a space followed by more. Matching only these leaves most lines untouched (r"\s+"
# rebuilt every line, space by space), and each alternative starts with one character class.
SPACES = re.compile(r"[^\S ]\s*| \s+")
POSSESSIVE = re.compile(r"['’][sS]$")
# Punkt only looks for boundaries at these; a line without one is one sentence (a phrase rung, say).
SENTENCE_END = re.compile(r"[.!?…。！？]")


def words(text: str) -> list[str]:
    return WORD.findall(text)


@functools.lru_cache(maxsize=16384)
def words_of(text: str) -> tuple[str, ...]:
    """words(text) as a tuple, found once for a text's count, vocabulary and sentence rungs."""
    return tuple(WORD.findall(text))


def word_count(text: str) -> int:
    return len(words_of(text))


def fold(word: str) -> str:
    """Case aside, one apostrophe: the form RAKE and the metrics compare words in."""
    return word.lower().replace("’", "'")


def strip_possessive(word: str) -> str:
    """"Apollo's" -> "Apollo": the top rung names the thing, not its possessive."""
    return POSSESSIVE.sub("", word)


@functools.lru_cache(maxsize=65536)
def form(word: str) -> str:
    """The form a word counts in for ladders and topics: folded, possessive 's dropped ("apollo").

    strip_possessive(fold(word)) without its regex (a miss here cost more than the hits): a folded
    word has no "’" and no capital, so its possessive is a final "'s"."""
    folded = fold(word)
    return folded[:-2] if folded.endswith("'s") else folded


def forms(words: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The forms of some words, as a set: what the ladder invariant compares rungs in."""
    return frozenset(map(form, set(words)))


@functools.lru_cache(maxsize=16384)
def vocabulary(text: str) -> frozenset[str]:
    """The forms of the words of a text (`forms`)."""
    return forms(words_of(text))


@functools.lru_cache(maxsize=65536)
def _content_form(word: str) -> str:
    """The word's form, or "" for a stopword."""
    f = form(word)
    return "" if f in stopwords() else f


def content_words(text: str) -> frozenset[str]:
    """The forms of the text's words that are not stopwords: vocabulary(text) - stopwords()."""
    return frozenset(filter(None, map(_content_form, set(words_of(text)))))


@functools.cache
def stopwords() -> frozenset[str]:
    lines = resources.files("compressors").joinpath("data/stopwords-en.txt").read_text("utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def is_content(word: str) -> bool:
    return fold(word) not in stopwords()


# punkt's private internals that _Punkt._candidates reads (the pin is punkt < 3; a release may drop them).
_PUNKT_INTERNALS = (all(hasattr(_punkt_boundaries, name) for name in ("_multi_char_interior", "_last_whitespace_index"))
                    and "_regex" in getattr(_punkt_boundaries.PunktBoundaryDetector, "__slots__", ()))


class _Punkt(punkt.PunktSentenceTokenizer):
    """Punkt's English tokenizer, remembering its decisions. Each decision is a function of a few
    characters of context alone (the word before a mark, the mark, the token after) and the fixed
    English tables, so remembering it changes no result; a third of them repeat in the corpus."""

    @functools.lru_cache(maxsize=65536)
    def _context_has_sentbreak(self, context: str) -> bool:
        return super()._context_has_sentbreak(context)

    def _candidate_spans(self, text: str) -> list[tuple[int, int]]:
        """punkt's spans between accepted boundaries, read from its detector's regex matches rather
        than from the BoundaryCandidate it builds of each (a frozen dataclass of seven fields, a
        quarter of punkt's time). The same contexts and breaks: tests/test_ladder.py compares the
        sentences with punkt's own on random text and the corpus. A punkt without the internals this
        reads keeps its own way (same sentences, slower); the test then fails to say so."""
        if not _PUNKT_INTERNALS:
            return super()._candidate_spans(text)
        spans, last_break = [], 0
        for match, word_start in self._candidates(text):
            context = text[word_start : match.start()] + match.group() + match.group("after_tok")
            if self._context_has_sentbreak(context):
                spans.append((last_break, match.end()))
                last_break = match.start("next_tok") if match.group("next_tok") else match.end()
        spans.append((last_break, len(text.rstrip())))
        return spans

    def _candidates(self, text: str) -> list[tuple[re.Match, int]]:
        """(match, start of the word before it) of each candidate boundary: the loop of punkt's
        `PunktBoundaryDetector.detect`, which keeps the last mark of a run ("!!!") and skips marks
        inside a multi-character run (". . .")."""
        detector = self._boundaries
        interior = _punkt_boundaries._multi_char_interior(text, detector.lang_vars)
        spaced = detector.lang_vars.next_sentence_requires_space
        out, previous, previous_start, previous_stop = [], None, 0, 0
        for match in detector._regex.finditer(text):
            start = match.start()
            if start in interior:
                continue
            space_index = _punkt_boundaries._last_whitespace_index(text[previous_stop:start])
            if space_index:
                word_start = previous_stop + space_index + 1
            elif not spaced and previous_stop < start:
                word_start = previous_stop
            else:
                word_start = previous_start
            if previous is not None and previous_stop <= word_start:
                out.append((previous, previous_start))
            previous, previous_start, previous_stop = match, word_start, start
        if previous is not None:
            out.append((previous, previous_start))
        return out


# punkt's English multi-character run, copied rather than read from punkt: the shortcut below holds for
# this pattern only, and a punkt whose pattern differs gets no shortcut.
_MULTI_CHAR_PATTERN = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"
_MULTI_CHAR_START = re.compile(r"--|\.\.|\.\s\.")  # every match of it holds one of these
_punkt_interior = getattr(_punkt_boundaries, "_multi_char_interior", None)  # private: may go in a release


def _multi_char_interior(text: str, lang_vars) -> frozenset[int]:
    """punkt's `_multi_char_interior`, answered at once where no run can start. Its regex tries three
    alternatives at every character and was a third of punkt's time; the answer is the same (empty)
    wherever none of "--", "..", ". ." occurs, which is most lines."""
    if lang_vars.multi_char_punct_pattern == _MULTI_CHAR_PATTERN and not _MULTI_CHAR_START.search(text):
        return frozenset()
    return _punkt_interior(text, lang_vars)


# Set in punkt's module, the only place its boundary detector looks the function up. A punkt without
# it keeps its own way (same sentences, no shortcut); tests/test_ladder.py then fails to say so.
if _punkt_interior is not None:
    _punkt_boundaries._multi_char_interior = _multi_char_interior


@functools.cache
def _punkt() -> punkt.PunktSentenceTokenizer:
    """Built once: punkt.sent_tokenize builds a tokenizer on every call."""
    english = punkt.tokenizer_for("english")
    return _Punkt(english.params, rules=english.rules)


def split_sentences(text: str) -> list[str]:
    """punkt.sent_tokenize(text) for English."""
    return _punkt().tokenize(text)


@functools.lru_cache(maxsize=16384)
def _line_sentences(line: str) -> tuple[str, ...]:
    line = SPACES.sub(" ", line).strip()
    if not WORD.search(line):
        return ()
    if not SENTENCE_END.search(line[:-1]):
        return (line,)
    return tuple(s for s in split_sentences(line) if WORD.search(s))


@functools.lru_cache(maxsize=4096)
def sentences(text: str) -> tuple[str, ...]:
    """Sentences of a text, line by line: punkt (Kiss & Strunk 2006) inside a line, never across one.

    Punkt decides each candidate break from its local context alone (the word before, the mark, the
    token after), so a sentence it found, put alone on a line, is found again as one sentence with its
    words whole (all but 15 of the 48,976 of the default corpus, where a run of closing quotes and
    brackets is realigned: tests/test_ladder.py), and sentence rungs need no memory of what was chosen.
    """
    return tuple(s for line in text.split("\n") for s in _line_sentences(line))


@functools.lru_cache(maxsize=4096)
def words_by_sentence(text: str) -> tuple[str, ...]:
    """words(text), read sentence by sentence: a text's sentences hold every one of its words, in
    order (tests/test_ladder.py), and TextRank reads each sentence's words anyway."""
    return tuple(chain.from_iterable(map(words_of, sentences(text))))


@functools.lru_cache(maxsize=256)
def paragraphs(text: str) -> tuple[str, ...]:
    """The text's paragraphs (split at blank lines), whitespace inside each collapsed to single spaces.
    Cached for a document's chunks and its topicality (`document_words`)."""
    return tuple(p for p in (SPACES.sub(" ", p).strip() for p in PARAGRAPH.split(text)) if p)


def document_words(text: str) -> tuple[str, ...]:
    """words(text), read paragraph by paragraph and sentence by sentence as `chunks` reads them: a
    document's words come from the caches its chunking filled, instead of a second pass over it."""
    return tuple(chain.from_iterable(words_of(s) for p in paragraphs(text) for s in _line_sentences(p)))


def normalize(text: str) -> str:
    """Paragraphs separated by one blank line, whitespace inside a paragraph collapsed to single spaces."""
    return "\n\n".join(paragraphs(text))


def _cut_words(text: str, max_words: int) -> list[str]:
    """A piece of text longer than max_words with no sentence break in it: cut between words."""
    spans = [m.span() for m in WORD.finditer(text)]
    cuts = [spans[i][0] for i in range(max_words, len(spans), max_words)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in zip(bounds, bounds[1:])]


def _units(paragraph: str, max_words: int) -> list[tuple[str, int]]:
    """Pieces of a paragraph no longer than max_words, with their word counts: the paragraph, else its
    sentences, else word cuts.

    A paragraph's words are counted sentence by sentence: its chunk's ladder reads these sentences and
    their words next (a paragraph is a line of its chunk: `sentences`, `words_by_sentence`), from the
    caches this fills, where counting the paragraph's own words read them twice (a text's sentences
    hold all its words: tests/test_ladder.py)."""
    n = sum(map(word_count, _line_sentences(paragraph)))
    if n <= max_words:
        return [(paragraph, n)]
    pieces = []
    for sentence in split_sentences(paragraph):
        pieces.extend(_cut_words(sentence, max_words) if word_count(sentence) > max_words else [sentence])
    return [(piece, word_count(piece)) for piece in pieces]


def chunks(text: str, max_words: int) -> list[str]:
    """Cut a document into chunks of at most max_words words at paragraph, then sentence boundaries.

    Units are packed greedily in order; paragraphs inside a chunk stay separated by a blank line and
    sentences of a split paragraph by a space, so a chunk reads as the original text did.
    """
    out: list[list[tuple[str, bool]]] = []
    size = max_words + 1
    for paragraph in paragraphs(text) or ("",):  # a text of no words is one empty chunk
        for i, (piece, n) in enumerate(_units(paragraph, max_words)):
            if size + n > max_words:
                out.append([])
                size = 0
            out[-1].append((piece, i == 0))
            size += n
    return ["".join(("\n\n" if new_par else " ") + p for p, new_par in chunk).strip() for chunk in out]
