"""Each compressor alone: what it keeps, and that it needs no NLTK data."""

from __future__ import annotations

import sys

import numpy as np

from compressors import Rake, SingleWord, TextRank, analysis, rake, textrank
from tests.conftest import timed

RNG = np.random.default_rng(0)

STORY = (
    "The river flooded the old mill in spring.\n"
    "The old mill stood by the river for a century, and the river turned its wheel.\n"
    "Bakers bought flour from the mill by the river.\n"
    "Cats sleep a lot."
)


def test_textrank_keeps_central_sentences_in_order():
    _, lengths, _, _ = textrank.analyze(STORY)
    scores = textrank.scores(STORY)
    assert scores.argmin() == 3, "the sentence sharing no word with the others is least central"
    out = TextRank(target_words=int(lengths[:3].sum()), min_sentences=1).compress(STORY, RNG)
    assert out.split("\n") == list(analysis.sentences(STORY))[:3]
    best = int(scores.argmax())
    one = TextRank(target_words=int(lengths[best]), min_sentences=1).compress(STORY, RNG)
    assert one == analysis.sentences(STORY)[best], "the most central sentence alone fills the budget"
    assert "Cats" not in TextRank(target_words=20).compress(STORY, RNG)


def test_pagerank_of_a_symmetric_graph():
    w = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=float)
    s = textrank.pagerank(w)
    assert s[0] > s[1] and np.isclose(s[1], s[2])
    assert np.isclose(s.sum(), 3.0, atol=1e-4)


def test_rake_breaks_phrases_at_punctuation_and_keeps_case():
    found = rake.analyze("Deep learning (Goodfellow et al.). Neural networks, explained: Paris zoo.")
    phrases = [" ".join(p) for p in found.phrases]
    assert phrases == ["Deep learning", "Goodfellow et al", "Neural networks", "explained", "Paris zoo"]
    assert all(")" not in p and "." not in p for p in phrases)
    assert "Paris zoo" in phrases


def test_rake_phrase_rung_is_a_subset_of_the_phrases_below():
    text = "Emma Woodhouse lived at Hartfield. Miss Taylor married Mr. Weston. The wedding made Emma sad."
    rung = Rake(target_words=8).compress(text, RNG)
    below = {" ".join(p) for p in rake.analyze(text).phrases}
    assert set(rung.split(rake.SEPARATOR)) <= below
    assert rake.analyze(rung).phrases == tuple(tuple(p.split()) for p in rung.split(rake.SEPARATOR))
    above = Rake(target_words=5).compress(rung, RNG)
    assert set(above.split(rake.SEPARATOR)) < set(rung.split(rake.SEPARATOR))
    # when no whole phrase fits the target, the best one is cut to it: a prefix of a phrase below
    cut = Rake(target_words=2).compress(rung, RNG)
    assert analysis.word_count(cut) == 2 and any(p.startswith(cut) for p in rung.split(rake.SEPARATOR))


def test_single_word_is_a_content_word_of_the_rung():
    rung = "Miss Taylor, Weston, wedding"
    word = SingleWord().compress(rung, RNG)
    assert word in analysis.words(rung) and analysis.is_content(word)
    drawn = {SingleWord(temperature=2.0).compress(rung, np.random.default_rng(s)) for s in range(40)}
    assert len(drawn) > 1, "sampled variants draw different words"


def test_sampling_follows_scores():
    scores = np.array([10.0, 1.0, 1.0])
    firsts = [
        __import__("compressors.select", fromlist=["x"]).rank_order(scores, 1.0, np.random.default_rng(s))[0]
        for s in range(2000)
    ]
    share = np.mean(np.array(firsts) == 0)
    assert abs(share - 10 / 12) < 0.04


def test_chunks_respect_max_words_and_boundaries(corpus_docs):
    doc = corpus_docs[0]["text"]
    pieces = analysis.chunks(doc, 100)
    assert all(analysis.word_count(p) <= 100 for p in pieces)
    assert analysis.words(" ".join(pieces)) == analysis.words(doc), "chunks cover the document, in order, once"
    assert sum(p.startswith(("She ", "Emma ", "Sixteen ")) for p in pieces) >= 2, "cut at paragraph starts"
    assert analysis.chunks("word " * 1000, 128)[0] == " ".join(["word"] * 128)


def test_no_nltk_data_is_needed(tmp_path):
    """With an empty NLTK data path, compressing works (rake-nltk's defaults would look there)."""
    code = (
        "import nltk, numpy as np\n"
        "nltk.download = lambda *a, **k: (_ for _ in ()).throw(RuntimeError('download'))\n"
        "from compressors import LadderConfig, build\n"
        "t = 'Emma Woodhouse was clever. She lived with her father. Miss Taylor was her governess for years.'\n"
        "print(build(t, LadderConfig(levels=3)).variants[0])\n"
    )
    env = {"NLTK_DATA": str(tmp_path), "PATH": ""}
    proc = timed([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
