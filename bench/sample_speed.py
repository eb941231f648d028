"""Sampling speed: the step decoder (model/decoder.py: the T5 step, finished rows dropped) against HF `generate`
for the same samples, and per token written.

Same process, one torch thread, the cpu-demo export, steps 1 and 2 (the long ones), a batch of `--batch`
held-out rungs of each. The step decoder samples under the rules (whole words, finished characters,
length bounds); `generate` then samples with the same temperature and top-p and is made to write exactly
those samples (a logits processor that forces each row's recorded tokens), so both do the same sampling
work and produce the same batch: generate runs until its longest row ends, the step decoder until each
row ends. Two ratios:
- same samples: generate's seconds / the step decoder's seconds for the batch;
- per token: the step decoder's tokens written per second against generate's positions computed per
  second (batch x its longest row): what one decoding position costs in each loop.
Each side is timed REPEATS times and the best kept. Then the lexicon filter's cost (model.lexicon, what
`--lexicon` turns on): the step decoder's tokens per second with the filter against without, per step
(its samples differ, so per token).
Usage: python bench/sample_speed.py [--model runs/cpu-demo] [--ladders ladders/default-L4] [--batch 16]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from model.decoder import decode_step
from model.export import load, resolve
from model.format import plan, source_ids, words_in
from model.lexicon import LexiconFilter
from model.markers import length_bucket
from model.pairs import shards, val_batches
from sample.decode import Decoding, draw

REPEATS = 3


class Replay(LogitsProcessor):
    """Forces row b to write tokens[b], then its end token for as long as the batch runs."""

    def __init__(self, tokens: list[list[int]], start: int, eos: int):
        self.tokens, self.start, self.eos = tokens, start, eos

    def __call__(self, input_ids, scores):
        j = input_ids.shape[1] - self.start
        forced = torch.tensor([t[j] if j < len(t) else self.eos for t in self.tokens])
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(len(forced)), forced] = 0.0
        return out


def best(fn) -> tuple[object, float]:
    times, result = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, min(times)


def step_decoder(model, tok, info, pairs, decoding: Decoding, narrow=None) -> tuple[list[list[int]], list[list[int]]]:
    """(the batch's samples as token lists, each ending with the end token; the source ids)."""
    fmt = info.step_format
    step = pairs[0].step
    sources = [source_ids(tok, fmt, p.source, step) for p in pairs]
    plans = [plan(fmt, p.source, bucket=length_bucket(words_in(p.target)), limit=info.limit(step)) for p in pairs]
    written: list[list[int]] = [[] for _ in pairs]
    generator = torch.Generator().manual_seed(0)

    def choose(logits, active):
        tokens = draw(logits, decoding, generator)
        for r, t in zip(active, tokens.tolist()):
            written[r].append(t)
        return tokens

    decode_step(model, tok, fmt, sources, plans, choose, narrow=narrow)
    return written, sources


def generate(model, tok, sources, written, decoding: Decoding) -> int:
    """Positions generate computed per row (its longest row) to write `written`."""
    pad = tok.pad_token_id
    width = max(map(len, sources))
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in sources])
    mask = (torch.arange(width)[None] < torch.tensor([len(s) for s in sources])[:, None]).long()
    replay = Replay(written, 1, tok.eos_token_id)
    out = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=True,
        temperature=decoding.temperature,
        top_p=decoding.top_p,
        top_k=0,
        num_beams=1,
        max_new_tokens=max(map(len, written)),
        logits_processor=LogitsProcessorList([replay]),
        eos_token_id=tok.eos_token_id,
        pad_token_id=pad,
    )
    got = [row[1:].tolist() for row in out]
    assert all(g[: len(w)] == w for g, w in zip(got, written)), "generate did not replay the samples"
    return out.shape[1] - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="runs/cpu-demo")
    ap.add_argument("--ladders", type=Path, default=Path("ladders/default-L4"))
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-p", type=float, default=0.95)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, tok, info = load(resolve(args.model), "cpu", "fp32")
    decoding = Decoding(args.temperature, args.top_p)
    batches = val_batches(shards(args.ladders, "val"), args.batch, 1, info.task)
    print(f"{resolve(args.model)}, batch {args.batch}, 1 thread, fp32, T={args.temperature} top-p {args.top_p}")
    print(
        "| step | mean / longest tokens | step decoder s | generate s | same samples | "
        "step decoder tokens/s | generate positions/s | per token |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for step in (1, 2):
        pairs = batches[step][0]
        (written, sources), ours = best(lambda: step_decoder(model, tok, info, pairs, decoding))
        longest, theirs = best(lambda: generate(model, tok, sources, written, decoding))
        tokens = sum(map(len, written))
        mine, gen = tokens / ours, len(written) * longest / theirs
        print(
            f"| {step} | {tokens / len(written):.0f} / {longest} | {ours:.2f} | {theirs:.2f} | "
            f"{theirs / ours:.2f}x | {mine:.0f} | {gen:.0f} | {mine / gen:.2f}x |"
        )
    lexicon_cost(model, tok, info, batches, decoding)


def lexicon_cost(model, tok, info, batches, decoding: Decoding) -> None:
    if info.words is None:
        print("\nthis export has no lexicon.txt: the filter's cost is not measured")
        return
    narrow = LexiconFilter(tok, info.words).penalty
    print("\n| step | tokens/s without the filter | with it | with / without |")
    print("|---|---|---|---|")
    for step in sorted(batches):
        pairs = batches[step][0]
        rates = []
        for with_filter in (None, narrow):
            (written, _), seconds = best(lambda: step_decoder(model, tok, info, pairs, decoding, with_filter))
            rates.append(sum(map(len, written)) / seconds)
        print(f"| {step} | {rates[0]:.0f} | {rates[1]:.0f} | {rates[1] / rates[0]:.2f}x |")


if __name__ == "__main__":
    main()
