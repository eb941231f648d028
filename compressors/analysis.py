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
    """ "Apollo's" -> "Apollo": the top rung names the thing, not its possessive."""
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


@functools.cache
def _punkt() -> punkt.PunktSentenceTokenizer:
    """Built once: punkt.sent_tokenize builds a tokenizer on every call."""
    return punkt.tokenizer_for("english")


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
