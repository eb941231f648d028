"""The step decoder's parts that sampling speed rests on: the T5 step (model.t5_step) computes the HF
forward's logits, and the draw (sample.decode) samples the nucleus distribution, never a forbidden token."""

from __future__ import annotations

import pytest
import torch

from model.decoder import _padded, _Seq2Seq
from model.t5_step import FIRST_CAPACITY, T5Step, supports
from sample.decode import Decoding, draw


@pytest.fixture(scope="module")
def t5():
    from model.build import build_model
    from model.config import ModelConfig
    from model.tokenizer import train_tokenizer

    tok = train_tokenizer(["Emma Woodhouse, handsome, clever, and rich. " * 4] * 20, vocab_size=300, levels=4)
    torch.manual_seed(0)
    return build_model(ModelConfig(d_model=48, layers=2, heads=3, d_ff=96), tok).eval(), tok


def _states(model, sources):
    ids, mask = _padded(sources, 0, left=False, device="cpu")
    return _Seq2Seq(model, ids, mask), T5Step(model, ids, mask)


def test_t5_step_computes_the_hf_forward(t5):
    """Rows of different source lengths (padding), rows dropped on the way, past the first buffer's capacity."""
    model, _ = t5
    assert supports(model)
    gen = torch.Generator().manual_seed(2)
    sources = [torch.randint(3, 300, (n,), generator=gen).tolist() for n in (5, 17, 9, 30, 1)]
    steps = FIRST_CAPACITY + 20
    drops = {7: [0, 1, 3, 4], 40: [1, 2, 3], 70: [0, 2]}  # position: rows kept, of the rows still writing
    with torch.no_grad():
        hf, lean = _states(model, sources)
        for t in range(steps):
            torch.testing.assert_close(lean.logits, hf.logits, atol=2e-4, rtol=1e-4)
            keep = torch.tensor(drops[t]) if t in drops else None
            written = torch.randint(3, 300, (hf.logits.shape[0],), generator=gen)  # (b,) one token per row
            hf.feed(written, keep)
            lean.feed(written, keep)
    assert lean.logits.shape[0] == 2


def test_t5_step_in_bf16_stays_near_the_hf_forward(t5):
    model, _ = t5
    half = type(model)(model.config).eval()
    half.load_state_dict(model.state_dict())
    half = half.to(torch.bfloat16)
    sources = [[5, 6, 7, 8], [9, 10]]
    with torch.no_grad():
        hf, lean = _states(half, sources)
        for token in (11, 12, 13):
            assert (lean.logits.float() - hf.logits.float()).abs().max() < 0.1 * hf.logits.float().abs().max()
            written = torch.full((2,), token)
            hf.feed(written, None)
            lean.feed(written, None)


def _frequencies(logits: torch.Tensor, decoding: Decoding, n: int = 40_000) -> torch.Tensor:
    drawn = draw(logits.repeat(n, 1), decoding, torch.Generator().manual_seed(3))
    return torch.bincount(drawn, minlength=logits.shape[-1]).double() / n


@pytest.mark.parametrize("top_p", [1.0, 0.95, 0.8, 0.3])
def test_draw_samples_the_nucleus_and_never_a_forbidden_token(top_p):
    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, float("-inf"), -3.0, float("-inf")]])
    probs = logits.softmax(-1)[0].double()
    ordered, order = probs.sort(descending=True)
    nucleus = torch.zeros_like(probs)
    nucleus[order] = torch.where(ordered.cumsum(0) - ordered <= top_p, ordered, 0.0)  # top-p's definition
    expected = nucleus / nucleus.sum()
    got = _frequencies(logits, Decoding(1.0, top_p))
    assert got[logits[0] == float("-inf")].sum() == 0
    assert (got[expected == 0]).sum() == 0, (got, expected)
    assert (got - expected).abs().max() < 0.01, (got, expected)


def test_draw_takes_the_only_allowed_token_among_many():
    logits = torch.full((64, 4000), float("-inf"))
    allowed = torch.randint(0, 4000, (64,), generator=torch.Generator().manual_seed(4))
    logits[torch.arange(64), allowed] = torch.randn(64) * 30
    for decoding in (Decoding(1.0, 1.0), Decoding(2.0, 0.9), Decoding(0.5, 0.01)):
        assert torch.equal(draw(logits, decoding, torch.Generator().manual_seed(5)), allowed)


def test_draw_refuses_logits_that_are_not_finite():
    logits = torch.zeros(3, 10)
    logits[1, 4] = float("nan")
    with pytest.raises(FloatingPointError, match="not finite"):
        draw(logits, Decoding(1.0, 0.9))
