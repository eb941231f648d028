"""The decoding rules (model.rules): whole words, valid UTF-8 and lengths, whatever is written.

Property tests: rows walked by a chooser that picks any allowed token at random (what an untrained
model may write, and more), and by an untrained tiny model at temperatures up to 2 with top-p 1, on
odd seeds (digits, apostrophes, non-Latin letters, one character, several fragments).
"""

from __future__ import annotations

import random
import re

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compressors import analysis
from model.align import align, fragments
from model.format import StepFormat, plan, rung_of, target_ids, to_rung, words_in
from model.markers import BUCKET_STARTS, LENGTHS, bucket_bounds, length_bucket
from model.rules import Row, can_end_outside_word, next_masks, start_rows, text_effect, token_table, utf8_scan

ODD_SEEDS = [
    "AI",
    "1999",
    "don't",
    "'tis",
    "Königsberg",
    "日本",
    "Москва",
    "x",
    "é",
    "red, green",
    "tea\ncake",
    "Apollo's",
    "C3PO, R2D2",
    "a-b",
    "Ωmega 42",
    "tea , cake",
]
PIECES = st.sampled_from(list("ab Z9'’-,.é日\n") + ["Ω", "e\u0301", "²", "_"])


@pytest.fixture(scope="module")
def tok():
    from model.tokenizer import train_tokenizer

    texts = [
        "Emma Woodhouse, handsome, clever, and rich, with a comfortable home.",
        "Ναι, 日本語 Москва Königsberg.",
        "don't 'tis Apollo's 1999 C3PO R2D2 a-b",
        "The quick brown fox jumps over the lazy dog. " * 3,
    ]
    return train_tokenizer(texts * 20, vocab_size=400, levels=4)


@given(st.lists(PIECES, max_size=40).map("".join))
def test_word_count_is_the_ladders(text):
    assert text_effect(text)[0] == len(analysis.words(text))


@given(st.binary(max_size=12))
def test_utf8_scan_accepts_exactly_the_completable_prefixes(data):
    scanned = utf8_scan(b"", data)
    try:
        assert scanned == (data.decode("utf-8"), b"")
    except UnicodeDecodeError as e:  # the first fault: a cut last character, or a byte no completion mends
        assert (scanned is not None) == (e.reason == "unexpected end of data")
        if scanned is not None:
            text, tail = scanned
            assert data == text.encode() + tail and 0 < len(tail) < 4


@pytest.mark.parametrize("partial", [b"\xc3", b"\xe2", b"\xe2\x80", b"\xe0", b"\xed", b"\xf0", b"\xf4\x8f", b"\xea"])
def test_can_end_outside_word_against_every_code_point(partial):
    expected = any(
        not chr(c).isalnum()
        for c in range(0x80, 0x110000)
        if not 0xD800 <= c <= 0xDFFF and chr(c).encode().startswith(partial)
    )
    assert can_end_outside_word(partial) == expected


def test_buckets_hold_every_count_once_within_a_quarter():
    for words in range(0, 3000):
        b = length_bucket(words)
        low, high = bucket_bounds(b)
        assert low <= words and (high is None or words <= high)
        if words:
            assert high is None or (high < 1.25 * words and low > 0.8 * words - 1e-9 or high - low == 0)
    assert len(BUCKET_STARTS) == LENGTHS and bucket_bounds(LENGTHS - 1)[1] is None


def _walk(tok, plans, pick) -> list[Row]:
    rows = start_rows(plans, tok)
    active = list(range(len(rows)))
    while active:
        masks = next_masks([rows[r] for r in active])
        for r, m in zip(active, masks):
            allowed = torch.nonzero(m).squeeze(1).tolist()
            assert allowed, f"no token left for row {r}: {rows[r].key()}"
            rows[r].advance(pick(allowed))
        active = [r for r in active if not rows[r].done]
    return rows


def _spaced_as_rungs(text: str) -> bool:
    """Whitespace as datagen writes every rung: runs of one space, one newline or a blank line, none at the ends."""
    runs = re.findall(r"\s+", text)
    return text == text.strip() and all(r in (" ", "\n", "\n\n") for r in runs)


def _check(upper: str, lower: str, bounds, closed_by_limit: bool) -> None:
    assert "\ufffd" not in lower
    lower.encode("utf-8")
    assert align(upper, lower) is not None, (upper, lower)  # every fragment there, in order, its words whole
    assert _spaced_as_rungs(lower), repr(lower)  # a row cut by its token limit too
    if bounds is not None and not closed_by_limit:
        low, high = bounds
        assert low <= words_in(lower) and (high is None or words_in(lower) <= high), (bounds, words_in(lower))


@pytest.mark.parametrize("seed", range(6))
def test_any_allowed_token_sequence_keeps_words_whole_and_text_valid(tok, seed):
    rng = random.Random(seed)
    fmt = StepFormat("infill")
    uppers = ODD_SEEDS + ["Emma Woodhouse, handsome\nclever, and rich.", "the", "Ænima, 42, x"]
    plans = []
    for u in uppers:
        words = (max(words_in(u) + 1, rng.randint(1, 40)), None) if seed % 2 else None
        if words is not None and seed % 4 == 1:
            words = (words[0], words[0] + rng.randint(0, 5))
        plans.append(plan(fmt, u, bucket=rng.randrange(LENGTHS), words=words, limit=rng.choice([None, 60, 400])))
    plans = [p if p.limit else plan(fmt, u, bucket=p.bucket, words=p.words, limit=600) for p, u in zip(plans, uppers)]
    rows = _walk(tok, plans, rng.choice)
    for row, upper, p in zip(rows, uppers, plans):
        rung = rung_of(row, upper, fmt)
        _check(upper, rung, row.bounds, row.tokens >= p.limit)
        assert [rung[a:b] for a, b in rung.kept] == fragments(upper)


def test_rewrite_rows_are_valid_text_of_their_length(tok):
    rng = random.Random(7)
    fmt = StepFormat("rewrite")
    plans = [plan(fmt, "AI", bucket=b, limit=800) for b in range(0, 30, 3)]
    for row, p in zip(_walk(tok, plans, rng.choice), plans):
        text = rung_of(row, "AI", fmt)
        assert "\ufffd" not in text
        if row.tokens < p.limit:
            assert _spaced_as_rungs(text), repr(text)
            low, high = bucket_bounds(p.bucket)
            assert low <= words_in(text) <= high


def test_glue_is_forbidden_where_it_would_happen(tok):
    table = token_table(tok)
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("a", "Ġa", ",")}
    fmt = StepFormat("infill", lengths=False)
    row = Row(plan(fmt, "war"), table)
    row.advance(table.sentinels[0])  # gap 0 opened: writing before "war"
    row.advance(ids["a"])  # "a" right before "war" would make "awar"
    m = table.mask(row.key())
    assert not m[table.sentinels[1]] and m[ids[","]]
    row.advance(ids[","])
    assert table.mask(row.key())[table.sentinels[1]]  # ", war" keeps "war" whole
    row.advance(table.sentinels[1])  # "war" placed: the gap after it may not start with a letter
    m = table.mask(row.key())
    assert not m[ids["a"]] and m[ids["Ġa"]] and m[table.eos]
    two = Row(plan(fmt, "red, green"), table)
    two.advance(table.sentinels[0])
    two.advance(table.sentinels[1])  # "red" placed: "redgreen" would fuse, so the gap may not stay empty
    assert not table.mask(two.key())[table.sentinels[2]]


def test_target_ids_obey_the_rules_and_read_back(tok, small_ladders):
    from model.pairs import read_pairs

    fmt = StepFormat("infill", max_target_tokens=10**6)
    table = token_table(tok)
    for p in list(read_pairs(sorted((small_ladders / "data").glob("*/*.parquet"))))[:400]:
        ids = target_ids(tok, fmt, p.source, p.target)
        assert to_rung(tok, fmt, p.source, ids) == p.target
        row = Row(plan(fmt, p.source), table)
        for t in ids:
            assert table.mask(row.key())[t], (p.source, p.target, t)
            row.advance(t)
        assert row.done and words_in(p.target) == len(analysis.words(p.target))


@pytest.fixture(scope="module")
def untrained(tok):
    from model.build import build_model
    from model.config import ModelConfig

    torch.manual_seed(0)
    return build_model(ModelConfig(d_model=32, layers=1, heads=2, d_ff=64), tok).eval()


@settings(deadline=None, max_examples=6)
@given(temperature=st.sampled_from([0.5, 1.0, 2.0]), rng_seed=st.integers(0, 1000))
@example(temperature=0.5, rng_seed=505)  # once ended a word short: a fragment "'s…" joined the gap's last word
def test_untrained_model_chains_hold_their_rules(tok, untrained, temperature, rng_seed):
    from model.export import ExportInfo
    from sample import Decoding, expand_seeds

    info = ExportInfo(
        4, "infill", "ladder", False, 256, 256, {str(k): 64 for k in range(1, 5)}, lengths=True, text_words=60
    )
    torch.manual_seed(rng_seed)
    per_seed = expand_seeds(untrained, tok, info, ODD_SEEDS, 4, num=2, decoding=Decoding(temperature, 1.0), words=60)
    low, high = bucket_bounds(length_bucket(60))
    for seed, trajectories in zip(ODD_SEEDS, per_seed):
        for t in trajectories:
            assert len(t) == 5 and t[0] == " ".join(seed.split())
            for upper, lower in zip(t, t[1:]):
                _check(upper, lower, None, True)
            assert low <= words_in(t[-1]) <= high, (seed, words_in(t[-1]))
