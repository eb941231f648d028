"""compressors.rake cuts and scores phrases itself; rake-nltk 1.0.6, the RAKE the product names, must
find the same phrases with the same scores, in the same order, on the default corpus."""

from __future__ import annotations

import pytest
from rake_nltk import Rake as RakeNLTK

from compressors import CannotCompress, LadderConfig, analysis, build, rake

BREAK = "."  # every punctuation mark, as one token rake-nltk breaks phrases at


def rake_tokens(sentence: str) -> list[str]:
    """Words, with every punctuation mark mapped to BREAK so rake-nltk never glues `).` to a word."""
    return [m.group(1) or BREAK for m in analysis.TOKEN.finditer(sentence)]


@pytest.fixture(scope="module")
def reference() -> RakeNLTK:
    """rake-nltk as compressors/rake.py used it before: our stopwords, punkt sentences, and words folded
    with every punctuation mark one break token (no NLTK data needed)."""
    return RakeNLTK(
        stopwords=set(analysis.stopwords()),
        punctuations={BREAK},
        sentence_tokenizer=lambda text: list(analysis.sentences(text)),
        word_tokenizer=lambda sentence: [analysis.fold(t) for t in rake_tokens(sentence)],
        include_repeated_phrases=False,
    )


def assert_same(reference: RakeNLTK, text: str) -> None:
    found = rake.analyze(text)
    sentences = reference._tokenize_text_to_sentences(text)
    assert list(found.keys) == reference._generate_phrases(sentences), text[:200]
    reference.extract_keywords_from_sentences(sentences)
    ours = sorted(zip(found.scores, (" ".join(k) for k in found.keys)))
    assert ours == sorted(reference.get_ranked_phrases_with_scores()), text[:200]


def test_rung_zero_of_every_chunk_of_the_corpus(reference, corpus_docs):
    for doc in corpus_docs:
        for chunk in analysis.chunks(doc["text"], 256):
            assert_same(reference, chunk)


def test_sentence_and_phrase_rungs(reference, corpus_docs):
    """The rungs RAKE reads in a ladder: sentence rungs (one sentence a line) and phrase rungs."""
    for doc in corpus_docs[::15]:
        for i, chunk in enumerate(analysis.chunks(doc["text"], 256)):
            try:
                ladder = build(chunk, LadderConfig(levels=6, variants=2), doc["id"], i, doc["text"])
            except CannotCompress:
                continue
            for rungs in ladder.variants:
                for rung in rungs[:-1]:
                    assert_same(reference, rung)
