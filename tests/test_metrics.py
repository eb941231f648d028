"""Metric functions against values computed by hand."""

from __future__ import annotations

import math

import pytest

from evaluation import metrics


def test_distinct_n():
    texts = ["the cat sat", "the cat ran"]
    # unigrams: the cat sat the cat ran -> 4 distinct of 6
    assert metrics.distinct_n(texts, 1) == pytest.approx(4 / 6)
    # bigrams: (the cat) (cat sat) (the cat) (cat ran) -> 3 distinct of 4
    assert metrics.distinct_n(texts, 2) == pytest.approx(3 / 4)
    assert metrics.distinct_n(texts, 4) is None
    assert metrics.distinct_n(["The CAT, the cat."], 1) == pytest.approx(2 / 4)


def test_self_bleu_identical_and_disjoint():
    same = ["the cat sat on the mat today"] * 3
    assert metrics.self_bleu(same) == pytest.approx(100.0)
    assert metrics.self_bleu(["alpha beta gamma delta", "one two three four"]) == pytest.approx(0.0, abs=1e-6)
    assert metrics.self_bleu(["only one"]) is None


def test_coverage():
    trajectory = ["Emma", "Emma, garden", "Emma walked in the garden.", "Emma walked slowly; the house was quiet."]
    # seed {emma}: 1/1; rung {emma, garden}: 1/2; rung {emma walked in the garden}: {emma, walked, the} 3/5
    assert metrics.coverage(trajectory) == pytest.approx([1.0, 0.5, 0.6])


def test_bits_per_byte():
    # 8 nats over 4 bytes: 8 / ln 2 / 4 bits per byte
    assert metrics.bits_per_byte(8.0, 4) == pytest.approx(8 / math.log(2) / 4)
    assert metrics.bits_per_byte(math.log(2) * 10, 10) == pytest.approx(1.0)


def test_chrf_bounds():
    assert metrics.chrf(["the same text"], ["the same text"]) == pytest.approx(100.0)
    assert metrics.chrf(["xyz"], ["abc def"]) < 5


def test_mean_skips_none():
    assert metrics.mean([1.0, None, 3.0]) == 2.0 and metrics.mean([None]) is None
