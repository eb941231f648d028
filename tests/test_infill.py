"""The infill step format: exact rebuilding over the default corpus with every fragment's words whole,
and sampling that holds its ladder by construction, for an untrained model at any seed, temperature
and length limit."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from model.align import align, fragments, interleave
from model.config import ModelConfig
from model.export import ExportInfo
from model.format import StepFormat, collate, encode, to_rung
from model.loss import logits_and_labels
from model.pairs import Pair, read_pairs
from tests.conftest import datagen


@pytest.fixture(scope="module")
def default_ladders(tmp_path_factory) -> Path:
    """The default corpus as `datagen build --levels 4` makes it (every pair the README's demo trains on)."""
    out = tmp_path_factory.mktemp("default") / "L4"
    datagen("build", "--levels", "4", "--out", str(out))
    return out


def all_pairs(ladders: Path) -> list[Pair]:
    return list(read_pairs(sorted((ladders / "data").glob("*/*.parquet"))))


def _leftmost(upper: str, lower: str) -> list[str] | None:
    """The alignment before word boundaries counted: each fragment at its first occurrence."""
    gaps, pos = [], 0
    for fragment in fragments(upper):
        found = lower.find(fragment, pos)
        if found < 0:
            return None
        gaps.append(lower[pos:found])
        pos = found + len(fragment)
    return gaps + [lower[pos:]]


def test_every_pair_of_the_default_corpus_rebuilds_exactly_with_words_whole(default_ladders):
    pairs = all_pairs(default_ladders)
    failed = [
        p
        for p in pairs
        if (g := align(p.source, p.target)) is None or interleave(fragments(p.source), g)[0] != p.target
    ]
    assert len(pairs) > 100_000
    assert not failed, (
        f"{len(failed)} of {len(pairs)} pairs do not rebuild, e.g. step {failed[0].step}: {failed[0].source[:80]!r}"
    )
    moved = sum(align(p.source, p.target) != _leftmost(p.source, p.target) for p in pairs)
    print(f"{moved} of {len(pairs)} pairs have a fragment whose first occurrence sits inside a longer word")
    assert moved < len(pairs) // 100


@pytest.fixture(scope="module")
def tiny(default_ladders):
    """An untrained tiny T5 with a tokenizer trained on a few of the default corpus's rungs."""
    from model.build import build_model
    from model.tokenizer import train_tokenizer

    texts = [t for p in itertools.islice(all_pairs(default_ladders), 3000) for t in (p.source, p.target)]
    tok = train_tokenizer(texts, vocab_size=600, levels=4)
    torch.manual_seed(0)
    model = build_model(ModelConfig(d_model=32, layers=1, heads=2, d_ff=64), tok).eval()
    return model, tok


def test_token_ids_round_trip_to_the_stored_rung(tiny, default_ladders):
    _, tok = tiny
    fmt = StepFormat("infill", max_source_tokens=10**6, max_target_tokens=10**6)
    pairs = [
        p for p in itertools.islice(read_pairs(sorted((default_ladders / "data" / "val").glob("*.parquet"))), 3000)
    ]
    for p in pairs:
        e = encode(p, tok, fmt)
        assert e.plan.gaps == len(fragments(p.source)) + 1
        rung = to_rung(tok, fmt, p.source, e.target)
        assert rung == p.target
        assert [rung[a:b] for a, b in rung.kept] == fragments(p.source)


@pytest.mark.parametrize(
    "temperature, top_p, limit", [(0.5, 0.95, 200), (1.0, 1.0, 40), (3.0, 1.0, 200), (10.0, 1.0, 7)]
)
def test_untrained_samples_hold_every_rung_above_and_the_seed(tiny, temperature, top_p, limit):
    from sample import Decoding, expand_seeds

    model, tok = tiny
    info = ExportInfo(4, "infill", "ladder", False, 256, 256, {str(k): 64 for k in range(1, 5)}, lengths=True)
    seeds = ["AI", "war", "Emma", "Königsberg", "x", "</s>", "<gap_2> <expand_1>", "red, green", "tea\ncake", "1999"]
    for rng_seed in range(3):
        torch.manual_seed(rng_seed)
        per_seed = expand_seeds(
            model, tok, info, seeds, 4, num=2, decoding=Decoding(temperature, top_p, max_new_tokens=limit), words=None
        )
        for seed, trajectories in zip(seeds, per_seed):
            for t in trajectories:
                assert len(t) == 5 and t[0] == " ".join(seed.split())
                for upper, lower in zip(t, t[1:]):
                    assert align(upper, lower) is not None, (upper, lower)
                    assert [lower[a:b] for a, b in lower.kept] == fragments(upper)
                for word in seed.split():
                    if "," not in word:
                        assert word in t[-1]


def test_training_loss_is_taken_under_the_sampling_constraint(tiny, default_ladders):
    model, tok = tiny
    pairs = list(itertools.islice(all_pairs(default_ladders), 8))
    batch = collate(pairs, tok, StepFormat("infill"))
    with torch.no_grad():
        logits, labels = logits_and_labels(model, batch)
    logp = logits.log_softmax(-1)  # (B, T, V)
    assert torch.allclose(logp[:, 1].gather(-1, labels[:, 1:2]), torch.zeros(len(pairs), 1))  # <gap_0> is certain
    assert torch.isfinite(logp[:, 0]).sum(-1).eq(48).all()  # first, one of the length tokens, as the model predicts
    rows, cols = torch.nonzero(labels != -100, as_tuple=True)
    assert torch.isfinite(logp[rows, cols, labels[rows, cols]]).all()  # every target token is allowed
    assert (torch.isfinite(logp[rows, cols]).sum(-1) < logp.shape[-1]).all()  # and every position rules some out
