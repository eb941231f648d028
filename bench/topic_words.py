"""Do top rungs say what a text is about? Title words on the Wikipedia part of the default corpus.

Each Wikipedia section of the default corpus has a `title`, "Article / Section". Among the chunks
whose text holds a content word of the title (forms folded: case, possessive 's), it prints the share
whose top rung (variant 0) is a title word, and whose rung L-1 holds one, for each scorer, next to the
reference of simply taking the chunk's most frequent content word. Title words are those of the whole
title field, and, on a second line, of the article's name alone.

Usage: python bench/topic_words.py [--levels 4] [--max-words 256] [--show 4]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter

from compressors import CannotCompress, LadderConfig, analysis, build
from compressors.ladder import SCORERS
from compressors.topic import is_topic_word, topicality
from datagen.read import default_corpus


def title_words(title: str) -> frozenset[str]:
    return frozenset(analysis.form(w) for w in analysis.words(title) if is_topic_word(w))


def most_frequent_word(text: str) -> str:
    """The reference: the chunk's most frequent content word (form), the first one on ties."""
    return Counter(analysis.form(w) for w in analysis.words(text) if is_topic_word(w)).most_common(1)[0][0]


def wikipedia_chunks(max_words: int) -> list[tuple[dict, int, str]]:
    with gzip.open(default_corpus(), "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    return [
        (d, i, c)
        for d in docs
        if d.get("source") == "wikipedia" and d.get("title")
        for i, c in enumerate(analysis.chunks(d["text"], max_words))
    ]


def most_topical_word(chunk: str, counted_over: str) -> str:
    """The chunk's word with the highest topicality counted over `counted_over` (chunk or document)."""
    topic = topicality(counted_over)
    return max((analysis.form(w) for w in analysis.words(chunk) if is_topic_word(w)), key=lambda f: topic.get(f, 0.0))


def measure(chunks, cfg: LadderConfig, article_only: bool) -> dict[str, float]:
    """Shares among the chunks whose text holds a title word: top rung, rung L-1, the reference, and the
    most topical word of the chunk with counts over the chunk and over its document (before any rung)."""
    top = below = first = reference = by_chunk = by_document = n = 0
    for doc, i, chunk in chunks:
        title = doc["title"].split(" / ")[0] if article_only else doc["title"]
        wanted = title_words(title)
        if not wanted & analysis.vocabulary(chunk):
            continue
        try:
            rungs = build(chunk, cfg, doc["id"], i, doc["text"]).variants[0]
        except CannotCompress:
            continue
        n += 1
        top += analysis.form(rungs[-1]) in wanted
        below += bool(wanted & analysis.vocabulary(rungs[-2] if len(rungs) > 1 else chunk))
        first += bool(wanted & analysis.vocabulary(rungs[0]))
        reference += most_frequent_word(chunk) in wanted
        by_chunk += most_topical_word(chunk, chunk) in wanted
        by_document += most_topical_word(chunk, doc["text"]) in wanted
    return {
        "chunks": n,
        "top": top / n,
        "rung_below": below / n,
        "rung_one": first / n,
        "reference": reference / n,
        "topic_by_chunk": by_chunk / n,
        "topic_by_document": by_document / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--max-words", type=int, default=256)
    parser.add_argument("--show", type=int, default=0, help="print this many ladders of each scorer")
    args = parser.parse_args()
    chunks = wikipedia_chunks(args.max_words)
    print(f"{len(chunks)} Wikipedia chunks of at most {args.max_words} words, --levels {args.levels}")
    for scorer in SCORERS:
        cfg = LadderConfig(levels=args.levels, variants=1, scorer=scorer)
        for article_only in (False, True):
            m = measure(chunks, cfg, article_only)
            words = "article name" if article_only else "whole title"
            print(
                f"scorer {scorer:5s} ({words}): top rung is a title word in {m['top']:.3f} of {m['chunks']} chunks "
                f"holding one; rung L-1 holds one in {m['rung_below']:.3f}, rung 1 in {m['rung_one']:.3f}; "
                "most frequent content word "
                f"{m['reference']:.3f}; most topical word, counted over the chunk {m['topic_by_chunk']:.3f}, "
                f"over the document {m['topic_by_document']:.3f}"
            )
    for doc, i, chunk in chunks[:: max(1, len(chunks) // args.show)][: args.show] if args.show else []:
        print(f"\n{doc['title']} #{i}")
        for scorer in SCORERS:
            rungs = build(
                chunk, LadderConfig(levels=args.levels, variants=1, scorer=scorer), doc["id"], i, doc["text"]
            ).variants[0]
            print(f"  {scorer} (rungs 2..L): " + " | ".join(r.replace("\n", " / ")[:90] for r in rungs[1:]))


if __name__ == "__main__":
    main()
