"""Coding chunks with the model: each step's target tokens, range-coded under the step decoder's distribution.

Pack and unpack get their probabilities from the same code, the step decoder of sampling
(model.decoder, with its rules: the codec's distribution is the one sampling draws from). Chunks are
coded in batches of `batch` consecutive model-coded chunks, every chunk of a batch at the same step in
one pass: a batch's shape changes float results, so the layout follows from the archive alone (its
chunk flags and the batch size in its header) and unpack rebuilds exactly the batches pack coded.
Each chunk has its own range code. Probabilities are quantized to integer frequencies with a floor
of 1, so no token is impossible, and a position the rules force (one token left) is not coded at all.
Every batch runs on one CPU thread with deterministic algorithms, in the precision the header records.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

import numpy as np

from compressors.ladder import LadderConfig, build
from compressors.select import CannotCompress
from model.decoder import decode_step
from model.export import ExportInfo
from model.format import AlignmentError, plan, rung_of, source_ids, target_ids, to_rung
from model.pairs import Pair
from model.task import Task

Forward = Literal["t5-step", "hf"]
FORWARDS: tuple[str, ...] = get_args(Forward)
TOTAL = 1 << 24  # quantization total; constriction's default range coder has 24 bits of precision


@dataclass(frozen=True)
class CoderSettings:
    threads: int = 1  # batches coded side by side, each on one torch thread (so results never depend on it)
    verify: bool = True  # decode each batch again in pack and fall back for a chunk that does not come back
    # keep a chunk as text where brotli stores it in fewer bytes (and the input whole where smaller)
    brotli: bool = True
    batch: int = 32  # model-coded chunks per pass; the archive records it and unpack codes the same batches
    precision: str = "fp32"  # the model's float precision while coding (resolved: never "auto")
    # the decoder's forward: "t5-step" (model.t5_step, where it computes the model; else HF's), or "hf"
    # (HF's always: archives packed before the T5 step, which record none)
    forward: Forward = "t5-step"

    def as_dict(self) -> dict:
        """What unpack needs (verify and brotli are pack's alone)."""
        return {k: v for k, v in asdict(self).items() if k not in ("verify", "brotli")}


@dataclass
class Cost:
    """Ideal code length in bits (-log2 p under the unquantized model) of a chunk, per step."""

    by_step: dict[int, float] = field(default_factory=dict)
    tokens: int = 0


def setup() -> None:
    """Every batch is coded on one torch thread: a matmul's rounding follows how its work is split across
    threads (oneDNN and MKL block by thread count), so an archive packed with 2 threads would not unpack
    with 1. `CoderSettings.threads` runs that many batches side by side instead."""
    import torch

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def side_by_side(fn, items: list, threads: int) -> list:
    """[fn(item) for item in items], up to `threads` at once (torch releases the GIL in its kernels)."""
    if threads <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


class Unfit(Exception):
    """A chunk the model cannot code exactly: it goes to the fallback, with this reason."""


# --- what a chunk's code is made of -----------------------------------------------------------------


def ladder_config(info: ExportInfo) -> LadderConfig:
    """The ladder settings the model was trained on; variant 0 is greedy, the same with any variant count.

    An export from before ladder scorers existed was trained on what is now the "rake" scorer."""
    return LadderConfig(**{"levels": info.levels, "scorer": "rake", **info.ladder, "variants": 1})


def steps_of(chunk: str, info: ExportInfo, document: str | None = None) -> tuple[str, list[Pair]]:
    """(the top rung the side stream stores, the pairs the model codes, first step first) for a chunk, or Unfit.

    `document`: the whole text the chunk was cut from, which the "topic" scorer steers by (as datagen)."""
    task = Task(info.task)
    if not task.expands:
        return "", task.chain([chunk])
    try:
        rungs = [chunk, *build(chunk, ladder_config(info), document=document).variants[0]]
    except CannotCompress as e:
        raise Unfit(f"no ladder ({e.reason})") from e
    return rungs[-1], task.chain(rungs)


def targets_of(tok, info: ExportInfo, pairs: list[Pair]) -> list[list[int]]:
    """The tokens the model writes for each pair, or Unfit when they would not give the rung back exactly."""
    fmt, out = info.step_format, []
    for p in pairs:
        try:
            ids = target_ids(tok, fmt, p.source, p.target)
        except AlignmentError as e:
            raise Unfit(f"step {p.step}: {e}") from e
        if str(to_rung(tok, fmt, p.source, ids)) != p.target:
            raise Unfit(f"step {p.step}: the tokenizer does not give this rung back")
        out.append(ids)
    return out


def quantize(p: np.ndarray) -> np.ndarray:
    """Integer frequencies (as float64 for constriction), each at least 1, summing to about TOTAL; p (..., V)."""
    return np.floor(p * (TOTAL - p.shape[-1])) + 1.0


# --- coding a batch, step by step -------------------------------------------------------------------


def _run_step(model, tok, info: ExportInfo, uppers: list[str], step: int, limit: int, forward: str, code_token):
    """One step for every chunk of a batch; `code_token(row, probs (V,) float64)` returns the row's token.
    forward: model.decoder.decode_step's, as the archive's settings say.

    The rows are planned without a token limit, as teacher forcing is (so the distribution is the
    loss's); `limit` only stops a damaged code that never ends: Unfit past it."""
    import torch

    fmt = info.step_format
    sources = [source_ids(tok, fmt, u, step) for u in uppers]
    plans = [plan(fmt, u) for u in uppers]
    written = [0] * len(uppers)

    def choose(logits, active: list[int]):
        probs = torch.softmax(logits, dim=-1).double().cpu().numpy()  # (b, V)
        for r in active:
            written[r] += 1
            if written[r] > limit:
                raise Unfit(f"step {step}: no end within the {limit} tokens the archive allows")
        return torch.tensor([code_token(r, probs[i]) for i, r in enumerate(active)], device=logits.device)

    rows = decode_step(model, tok, fmt, sources, plans, choose, forward)
    return [str(rung_of(row, u, fmt)) for row, u in zip(rows, uppers)]


def _forced(p: np.ndarray) -> int | None:
    nonzero = np.flatnonzero(p)
    return int(nonzero[0]) if len(nonzero) == 1 else None


def encode_batch(
    model,
    tok,
    info: ExportInfo,
    chains: list[list[Pair]],
    targets: list[list[list[int]]],
    limits: dict[int, int],
    forward: str,
) -> tuple[list[np.ndarray], list[Cost], dict[int, str]]:
    """(the range code of each chunk of a batch as uint32 words, its ideal cost, {chunk: why it cannot be
    coded}). chains, targets: each chunk's pairs and their target tokens, first step first. limits: each
    step's token limit; forward: `CoderSettings.forward`."""
    import constriction

    Categorical = constriction.stream.model.Categorical
    encoders = [constriction.stream.queue.RangeEncoder() for _ in chains]
    costs, unfit = [Cost() for _ in chains], {}
    for s in range(len(chains[0])):
        pairs = [c[s] for c in chains]
        pos = [0] * len(chains)

        def code_token(r: int, p: np.ndarray) -> int:
            t = targets[r][s][pos[r]]
            pos[r] += 1
            forced = _forced(p)
            if forced is None:
                costs[r].by_step[pairs[r].step] = costs[r].by_step.get(pairs[r].step, 0.0) - math.log2(
                    max(p[t], 1e-300)
                )
                encoders[r].encode(t, Categorical(quantize(p), perfect=False))
            elif forced != t:
                unfit.setdefault(r, f"step {pairs[r].step}: token {t} where the rules force {forced}")
            costs[r].tokens += 1
            return t

        _run_step(
            model, tok, info, [p.source for p in pairs], pairs[0].step, limits[pairs[0].step], forward, code_token
        )
    return [e.get_compressed() for e in encoders], costs, unfit


def decode_batch(
    model, tok, info: ExportInfo, tops: list[str], codes: list[np.ndarray], limits: dict[int, int], forward: str
) -> list[list[Pair]]:
    """Each chunk of a batch from its top rung and range code: every step's rung from the one above. Returns
    each chunk's pairs as decoded, first step first (the last one's target is the text)."""
    import constriction

    Categorical = constriction.stream.model.Categorical
    decoders = [constriction.stream.queue.RangeDecoder(c) for c in codes]
    chains: list[list[Pair]] = [[] for _ in tops]
    rungs = list(tops)

    def code_token(r: int, p: np.ndarray) -> int:
        forced = _forced(p)
        return forced if forced is not None else int(decoders[r].decode(Categorical(quantize(p), perfect=False)))

    for step in Task(info.task).steps(info.levels):
        lower = _run_step(model, tok, info, rungs, step, limits[step], forward, code_token)
        for chain, upper, text in zip(chains, rungs, lower):
            chain.append(Pair(step, upper, text))
        rungs = lower
    return chains
