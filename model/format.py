"""The step format: how a ladder pair becomes model inputs and targets, and how model output becomes a rung.

Two objectives for an encoder-decoder:

- `rewrite`: the encoder reads `<expand_k> rung k`, the decoder writes all of rung k - 1.
- `infill` (default): the encoder reads `<expand_k> <gap_0> fragment_1 <gap_1> … fragment_n <gap_n>`
  (model.align's fragments of rung k); the decoder writes `<gap_0> gap_0 <gap_1> gap_1 … <gap_n> gap_n
  </s>` and rung k - 1 is rebuilt by interleaving. Decoding is constrained (`constrain`): sentinels come
  in order, none is skipped, the end comes only after the last one, so every expansion contains its
  rung verbatim and in order. Training takes its loss under the same constraint, so the loss is the
  code length of the distribution that sampling draws from.

A decoder-only model (the autoregressive baseline, the judge) reads a prompt then writes the target,
with its loss on the target only. Text pieces are tokenized with special tokens split, so text that
happens to read `</s>` or `<gap_3>` never becomes a control token.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from model.align import Rung, align, fragments, interleave, kept_spans
from model.markers import SENTINELS, marker, sentinel, source
from model.pairs import Pair

Objective = Literal["infill", "rewrite"]


@dataclass(frozen=True)
class StepFormat:
    objective: Objective = "infill"
    causal: bool = False  # a decoder-only model: prompt then target in one sequence
    max_source_tokens: int = 256  # encoder input (or prompt) tokens kept
    max_target_tokens: int = 256  # target tokens kept

    @property
    def infill(self) -> bool:
        return self.objective == "infill" and not self.causal


@dataclass(frozen=True)
class Encoded:
    source: list[int]
    target: list[int]
    gaps: int  # sentinels the target must hold (infill), else 0


class AlignmentError(ValueError):
    pass


def pieces(tok, texts: list[str]) -> list[list[int]]:
    """Token ids of plain text pieces: no end token, special-token look-alikes kept as text."""
    if not texts:
        return []
    return tok(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]


@functools.lru_cache(maxsize=8)
def sentinel_ids(tok) -> tuple[int, ...]:
    """The ids of <gap_0> … <gap_31> (looked up once per tokenizer: this runs for every pair)."""
    return tuple(tok.convert_tokens_to_ids([sentinel(i) for i in range(SENTINELS)]))


@functools.lru_cache(maxsize=8)
def special_ids(tok) -> tuple[int, ...]:
    """Every control token id, sentinels included: what `constrain` allows only where the format says."""
    return tuple(sorted(set(tok.all_special_ids) | set(sentinel_ids(tok))))


def _with_sentinels(tok, parts: list[list[int]], first: list[int]) -> list[int]:
    """first + <gap_0> parts[0] <gap_1> parts[1] … : the sentinels numbered in order."""
    sent = sentinel_ids(tok)
    ids = list(first)
    for i, part in enumerate(parts):
        ids += [sent[i % SENTINELS], *part]
    return ids


def infill_source(tok, rung: str, step: int) -> tuple[list[int], int]:
    """(encoder ids of the infill step from `rung`, its number of gaps): `<expand_k> <gap_0> f_1 … <gap_n> </s>`."""
    frags = pieces(tok, fragments(rung))
    ids = _with_sentinels(tok, frags, [tok.convert_tokens_to_ids(marker(step))])
    return ids + [sentinel_ids(tok)[len(frags) % SENTINELS], tok.eos_token_id], len(frags) + 1


def infill_target(tok, upper: str, lower: str) -> list[int]:
    """The untruncated decoder ids of an infill step: `<gap_0> gap_0 … <gap_n> gap_n </s>`; AlignmentError
    if `upper`'s fragments are not in `lower` in order."""
    found = align(upper, lower)
    if found is None:
        raise AlignmentError(f"rung {upper[:60]!r}… is not in the rung below in order")
    return _with_sentinels(tok, pieces(tok, found), []) + [tok.eos_token_id]


def source_ids(tok, fmt: StepFormat, rung: str, step: int) -> tuple[list[int], int]:
    """(encoder input ids, or a decoder-only prompt, for expanding `rung` at `step`; gaps due)."""
    if fmt.causal:
        return prompt_ids(tok, rung, step, fmt.max_source_tokens), 0
    if fmt.infill:
        ids, gaps = infill_source(tok, rung, step)
        return ids[: fmt.max_source_tokens], gaps
    return tok(source(rung, step), max_length=fmt.max_source_tokens, truncation=True)["input_ids"], 0


def prompt_ids(tok, rung: str, step: int, max_source: int) -> list[int]:
    """A decoder-only model's prompt: the end token as a start, then the marked seed rung (none for text)."""
    ids = [tok.eos_token_id]
    if rung:
        ids += tok(source(rung, step), max_length=max_source, truncation=True)["input_ids"][:-1]
    return ids


def encode(pair: Pair, tok, fmt: StepFormat) -> Encoded:
    """A pair as token ids; AlignmentError if an infill pair's rung is not in its target in order."""
    src, gaps = source_ids(tok, fmt, pair.source, pair.step)
    if fmt.infill:
        target = infill_target(tok, pair.source, pair.target)
    else:
        target = tok(pair.target, max_length=fmt.max_target_tokens, truncation=True)["input_ids"]
    return Encoded(src, target[: fmt.max_target_tokens], gaps)


def collate(batch: list[Pair], tok, fmt: StepFormat) -> dict:
    """Padded tensors: input_ids/attention_mask (B, S), labels (B, T) with -100 where no loss is taken,
    steps (B,), gaps (B,) sentinels due (0: unconstrained). A decoder-only model gets one sequence,
    prompt then target, labels on the target only."""
    import torch

    encoded = [encode(p, tok, fmt) for p in batch]
    if fmt.causal:
        rows = [e.source + e.target for e in encoded]
        labels = [[-100] * len(e.source) + e.target for e in encoded]
    else:
        rows, labels = [e.source for e in encoded], [e.target for e in encoded]
    out = {"input_ids": _pad(rows, tok.pad_token_id), "attention_mask": _pad([[1] * len(r) for r in rows], 0),
           "labels": _pad(labels, -100), "steps": torch.tensor([p.step for p in batch]),
           "gaps": torch.tensor([e.gaps for e in encoded])}
    if fmt.infill:
        out["sentinel_ids"] = torch.tensor(sentinel_ids(tok))
        out["special_ids"] = torch.tensor(special_ids(tok))
    return out


def _pad(rows: list[list[int]], value: int):
    import torch

    width = max(map(len, rows))
    return torch.tensor([r + [value] * (width - len(r)) for r in rows])


def constrain(logits, count, gaps, sentinels, specials, eos: int):
    """Logits with what the infill format forbids at -inf.

    logits (..., V); count (...) sentinels already written before this position; gaps (...) sentinels
    due; sentinels (SENTINELS,) and specials (S,) token ids. Allowed: the next sentinel (or, once all
    are written, the end) and, after the first sentinel, any plain token; no other special token."""
    import torch

    allowed = torch.where(count < gaps, sentinels[count % SENTINELS], torch.full_like(count, eos))  # (...)
    banned = specials != allowed[..., None]  # (..., S)
    out = logits.clone()
    out[..., specials] = logits[..., specials].masked_fill(banned, float("-inf"))
    forced = count == 0  # before the first sentinel nothing but it may come (only the first position)
    if forced.any():
        rows, first = out[forced], allowed[forced][:, None]  # (N, V), (N, 1)
        out[forced] = torch.full_like(rows, float("-inf")).scatter(-1, first, rows.gather(-1, first))
    return out


def sentinel_counts(labels, sentinels):
    """(B, T) sentinels among labels[:, :t]: how far each target position is in its gaps."""
    import torch

    is_sentinel = torch.isin(labels, sentinels).long()
    return is_sentinel.cumsum(dim=1) - is_sentinel


def to_rung(tok, fmt: StepFormat, upper: str, ids: list[int]) -> Rung:
    """The rung a model wrote from `upper`: for infill, its gaps interleaved with `upper`'s fragments
    (a gap never written is empty); for rewrite, the decoded text, with kept spans where `upper` is in it."""
    if not fmt.infill:
        text = tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False).strip()
        return Rung(text, kept_spans(upper, text))
    sent, specials, gaps = set(sentinel_ids(tok)), set(special_ids(tok)), []
    for i in ids:
        if i == tok.eos_token_id:
            break
        if i in sent:
            gaps.append([])
        elif gaps and i not in specials:
            gaps[-1].append(i)
    texts = [tok.decode(g, clean_up_tokenization_spaces=False) for g in gaps]
    return Rung(*interleave(fragments(upper), texts))
