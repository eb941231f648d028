"""Top rungs that say what the text is about: topicality, the single word, and the title-word measure."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import wordfreq

from compressors import LadderConfig, Rake, SingleWord, analysis, build
from compressors.topic import About, rarity, topicality
from tests.conftest import datagen, rows

RNG = np.random.default_rng(0)
BENCH = Path(__file__).resolve().parents[1] / "bench" / "topic_words.py"

DOC = (
    "Apollo's program landed twelve men on the Moon. The program began under Kennedy, and Apollo flew "
    "from 1961 to 1972. Time and money were short; the program cost much time. Apollo carried a rover."
)


def test_rarity_is_wordfreqs_offline_frequency():
    """Read from wordfreq's own file, the same figures its API gives (zipf = 9 - rarity)."""
    for word in ["lincoln", "time", "aardvark", "the", "achilles"]:
        assert rarity(word) == pytest.approx(9 - wordfreq.zipf_frequency(word, "en"), abs=0.011), word
    assert rarity("zzqxvbnonword") > rarity("aardvark") > rarity("lincoln") > rarity("time")


def test_topicality_counts_forms_over_the_text_times_rarity():
    topic = topicality(DOC)
    assert topic["apollo"] == pytest.approx(3 * rarity("apollo")), "Apollo's and Apollo count as one form"
    assert "the" not in topic and "and" not in topic, "stopwords are never topics"
    assert max(topic, key=topic.get) == "apollo"
    assert topic["program"] == pytest.approx(3 * rarity("program")) and topic["apollo"] > topic["program"]


def test_topicality_folds_word_by_word_as_rungs_do():
    """A word whose lowercase is longer ("İnönü" gives "i̇nönü", an i and a combining dot) counts under
    the form its rungs' words have; folding the whole text before finding its words cut it in two."""
    text = "İsmet İnönü led Turkey. İnönü wrote to Einstein, and İnönü answered."
    topic = topicality(text)
    assert topic[analysis.form("İnönü")] == pytest.approx(3 * rarity(analysis.form("İnönü")))
    assert "nönü" not in topic
    word = SingleWord(about=text).compress("İnönü answered Einstein", RNG)
    assert word == "İnönü"


def test_single_word_is_the_most_topical_word_of_the_rung_without_its_possessive():
    rung = "Kennedy, program began, Apollo's"
    assert SingleWord(about=DOC).compress(rung, RNG) == "Apollo"
    assert SingleWord().compress(rung, RNG) != "Apollo", "RAKE's word score alone prefers long phrases"
    drawn = {SingleWord(temperature=1.0, about=DOC).compress(rung, np.random.default_rng(s)) for s in range(200)}
    assert "Apollo" in drawn and len(drawn) > 1, "variants still draw by score"


def test_phrases_naming_the_topic_survive():
    rung = "program began, Kennedy, Time, money, landed twelve men, Apollo carried"
    kept = Rake(target_words=2, about=DOC).compress(rung, RNG)
    assert "Apollo" in kept


def test_ladders_keep_the_topic_up_to_the_top(corpus_docs):
    emma = [d for d in corpus_docs if d["id"].startswith("austen/emma/")][:3]
    tops = [
        build(c, LadderConfig(), d["id"], i, d["text"]).variants[0][-1]
        for d in emma
        for i, c in enumerate(analysis.chunks(d["text"], 256))
    ]
    assert (
        sum(top in {"Emma", "Harriet", "Knightley", "Weston", "Elton", "Woodhouse", "Taylor"} for top in tops)
        >= len(tops) / 2
    ), tops


def _bench():
    spec = importlib.util.spec_from_file_location("topic_words", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_top_rungs_name_the_title_on_every_source():
    """The goal of issue 19 on each source of the default corpus, measured as bench/topic_words.py does:
    with the title given, as datagen reads it, and never below the text alone."""
    bench = _bench()
    for source, chunks in bench.titled_chunks(256).items():
        titled = bench.measure(chunks, 4, "topic, title given")
        alone = bench.measure(chunks, 4, "topic, text alone")
        assert titled["chunks"] > 300, (source, titled)
        assert titled["top"] >= 0.6 and titled["top"] >= alone["top"] >= alone["reference"], (source, titled, alone)
        assert titled["rung_below"] >= titled["top"], (source, titled)


def test_a_title_word_the_document_says_outranks_every_other():
    alone, titled = topicality(DOC), topicality(About(DOC, "Kennedy's Moon"))
    assert max(alone, key=alone.get) == "apollo"
    assert sorted(titled, key=titled.get)[-2:] == ["moon", "kennedy"], "title words first, in their own order"
    assert {f: titled[f] for f in alone if f not in {"kennedy", "moon"}} == {
        f: v for f, v in alone.items() if f not in {"kennedy", "moon"}
    }, "the other words keep their scores"
    assert topicality(About(DOC, "Gemini")) == alone, "a title word the document never says adds nothing"
    assert topicality(About(DOC, "")) == alone


def _titled_input(path: Path, titled: bool) -> Path:
    docs = [{"id": f"d{i}", "text": DOC, **({"title": "Kennedy"} if titled else {})} for i in range(3)]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def test_datagen_reads_the_title_column(tmp_path):
    """`title` where the input has one, or the column --title-column names; a named column that a row
    lacks is an error naming the flag, and the output folder is left unwritten."""
    tops = {}
    for titled in (False, True):
        out = tmp_path / f"out-{titled}"
        path = _titled_input(tmp_path / f"in-{titled}.jsonl", titled)
        datagen("build", "--input", str(path), "--out", str(out), "--levels", "3", "--variants", "1", "--workers", "1")
        tops[titled] = {r["ladders"][0][-1] for r in rows(out)}
    assert tops == {False: {"Apollo"}, True: {"Kennedy"}}
    renamed = tmp_path / "renamed.jsonl"
    renamed.write_text(_titled_input(tmp_path / "x.jsonl", True).read_text().replace('"title"', '"name"'))
    out = tmp_path / "out-named"
    args = ["build", "--input", str(renamed), "--out", str(out), "--levels", "3", "--variants", "1", "--workers", "1"]
    datagen(*args, "--title-column", "name")
    assert {r["ladders"][0][-1] for r in rows(out)} == {"Kennedy"}
    refused = datagen(*args[:4], str(tmp_path / "out-missing"), *args[5:], "--title-column", "heading", check=False)
    assert refused.returncode == 2 and "--title-column" in refused.stderr and "heading" in refused.stderr, refused
    assert not (tmp_path / "out-missing" / "data").exists() or not list(
        (tmp_path / "out-missing" / "data").rglob("*.parquet")
    )


def test_a_rerun_with_another_scorer_is_refused(tmp_path, small_corpus):
    out = tmp_path / "ladders"
    args = [
        "build",
        "--input",
        str(small_corpus),
        "--out",
        str(out),
        "--workers",
        "1",
        "--levels",
        "3",
        "--variants",
        "1",
    ]
    datagen(*args, "--set", "ladder.scorer=rake")
    before = rows(out)
    refused = datagen(*args, check=False)
    assert refused.returncode == 2 and "ladder.scorer='rake'" in refused.stderr, refused.stderr[-500:]
    assert rows(out) == before
    datagen(*args, "--force")
    assert rows(out) != before, "the topic scorer makes other ladders"
