"""Do top rungs say what a text is about? Title words, per source of the default corpus.

Every document of the default corpus has a `title`: the Wikipedia article and section ("Article /
Section"), the Austen chapter's heading ("emma chapter 1"), the Jargon File entry's term ("hacker").
Among the chunks whose text holds a content word of the title (forms folded: case, possessive 's), it
prints per source the share whose top rung (variant 0) is a title word, and whose rung L-1 and rung 1
hold one: with the title given to the ladder (as `datagen build` does where the input has a title
column), without it (text alone, as for untitled input), and with RAKE's scores alone; next to the
reference of simply taking the chunk's most frequent content word; then, per source, how often the
chunk's most topical word from the text alone (counted over the chunk, or over its document) is one.

Usage: python bench/topic_words.py [--levels 4] [--max-words 256] [--show 4]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter

from compressors import CannotCompress, LadderConfig, analysis, build
from compressors.topic import is_topic_word, topicality
from datagen.read import default_corpus

SETTINGS = {  # name -> (scorer, title given)
    "topic, title given": ("topic", True),
    "topic, text alone": ("topic", False),
    "rake": ("rake", False),
}


def title_words(title: str) -> frozenset[str]:
    return frozenset(analysis.form(w) for w in analysis.words(title) if is_topic_word(w))


def most_frequent_word(text: str) -> str:
    """The reference: the chunk's most frequent content word (form), the first one on ties."""
    return Counter(analysis.form(w) for w in analysis.words(text) if is_topic_word(w)).most_common(1)[0][0]


def titled_chunks(max_words: int) -> dict[str, list[tuple[dict, int, str]]]:
    """source -> (document, chunk index, chunk) of the chunks that hold a word of their title."""
    with gzip.open(default_corpus(), "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    out: dict[str, list] = {}
    for d in docs:
        wanted = title_words(d.get("title") or "")
        for i, c in enumerate(analysis.chunks(d["text"], max_words)):
            if wanted & analysis.vocabulary(c):
                out.setdefault(d["source"], []).append((d, i, c))
    return out


def most_topical_word(chunk: str, counted_over: str) -> str:
    """The chunk's word with the highest topicality counted over `counted_over` (chunk or document)."""
    topic = topicality(counted_over)
    return max((analysis.form(w) for w in analysis.words(chunk) if is_topic_word(w)), key=lambda f: topic.get(f, 0.0))


def oracle(chunks) -> dict[str, float]:
    """Before any rung, from the text alone: shares whose most topical word, counted over the chunk or
    over its document, is a title word (what the ladder's steps could keep at best without the title)."""
    hits = [(title_words(d["title"]), c, d["text"]) for d, _, c in chunks]
    return {
        over: sum(most_topical_word(c, c if over == "chunk" else text) in w for w, c, text in hits) / len(hits)
        for over in ("chunk", "document")
    }


def ladder(doc: dict, i: int, chunk: str, levels: int, setting: str) -> list[str] | None:
    scorer, titled = SETTINGS[setting]
    cfg = LadderConfig(levels=levels, variants=1, scorer=scorer)
    try:
        return build(chunk, cfg, doc["id"], i, doc["text"], doc["title"] if titled else "").variants[0]
    except CannotCompress:
        return None


def measure(chunks, levels: int, setting: str) -> dict[str, float]:
    """Shares among the chunks that have a ladder: top rung, rung L-1 and rung 1 naming the title."""
    top = below = first = reference = n = 0
    for doc, i, chunk in chunks:
        rungs = ladder(doc, i, chunk, levels, setting)
        if rungs is None:
            continue
        wanted = title_words(doc["title"])
        n += 1
        top += analysis.form(rungs[-1]) in wanted
        below += bool(wanted & analysis.vocabulary(rungs[-2] if len(rungs) > 1 else chunk))
        first += bool(wanted & analysis.vocabulary(rungs[0]))
        reference += most_frequent_word(chunk) in wanted
    return {"chunks": n, "top": top / n, "rung_below": below / n, "rung_one": first / n, "reference": reference / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--max-words", type=int, default=256)
    parser.add_argument("--show", type=int, default=0, help="print this many ladders of each source")
    args = parser.parse_args()
    by_source = titled_chunks(args.max_words)
    print(f"--levels {args.levels}, chunks of at most {args.max_words} words that hold a word of their title")
    print(
        "| source | setting | chunks | top rung is a title word | rung L-1 holds one | rung 1 holds one | reference |"
    )
    print("|---|---|---|---|---|---|---|")
    for source, chunks in sorted(by_source.items()):
        for setting in SETTINGS:
            m = measure(chunks, args.levels, setting)
            print(
                f"| {source} | {setting} | {m['chunks']} | {m['top']:.3f} | {m['rung_below']:.3f} | "
                f"{m['rung_one']:.3f} | {m['reference']:.3f} |"
            )
    for source, chunks in sorted(by_source.items()):
        o = oracle(chunks)
        print(
            f"{source}: most topical word is a title word, counted over the chunk {o['chunk']:.3f}, "
            f"over the document {o['document']:.3f}"
        )
    for source, chunks in sorted(by_source.items()) if args.show else []:
        for doc, i, chunk in chunks[:: max(1, len(chunks) // args.show)][: args.show]:
            print(f"\n{source}: {doc['title']} #{i}")
            for setting in SETTINGS:
                rungs = ladder(doc, i, chunk, args.levels, setting) or []
                print(f"  {setting} (rungs 2..L): " + " | ".join(r.replace("\n", " / ")[:90] for r in rungs[1:]))


if __name__ == "__main__":
    main()
