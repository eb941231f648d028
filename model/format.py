"""The step format: how a ladder pair becomes model inputs and targets, and how model output becomes a rung.

Two objectives for an encoder-decoder:

- `rewrite`: the encoder reads `<expand_k> rung k`, the decoder writes `<words_b>` and all of rung k - 1.
- `infill` (default): the encoder reads `<expand_k> <gap_0> fragment_1 <gap_1> … fragment_n <gap_n>`
  (model.align's fragments of rung k); the decoder writes `<words_b> <gap_0> gap_0 <gap_1> gap_1 …
  <gap_n> gap_n </s>` and rung k - 1 is rebuilt by interleaving. Every position is constrained by
  model.rules (sentinels in order, valid UTF-8, whole words, the length of bucket b), so every
  expansion contains its rung verbatim and in order. Training takes its loss under the same rules, so
  the loss is the code length of the distribution that sampling draws from.

`<words_b>` is the length bucket of rung k - 1 (model.markers), learned like any token and forced by
sampling to the length asked for. A decoder-only model (the autoregressive baseline, the judge) reads a
prompt then writes the target, with its loss on the target only; the judge's text has no length
token. Text pieces are tokenized with special tokens split, so text that happens to read `</s>` or
`<gap_3>` never becomes a control token.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from model.align import Rung, align, fragments, interleave, kept_spans
from model.markers import SENTINELS, length_bucket, length_token, marker, sentinel, source
from model.pairs import Pair
from model.rules import Plan, Row, teacher_masks, text_effect, token_table

Objective = Literal["infill", "rewrite"]


@dataclass(frozen=True)
class StepFormat:
    objective: Objective = "infill"
    causal: bool = False  # a decoder-only model: prompt then target in one sequence
    max_source_tokens: int = 256  # encoder input (or prompt) tokens kept
    max_target_tokens: int = 256  # target tokens kept
    lengths: bool = True  # targets start with a length token (exports before it: False)

    @property
    def infill(self) -> bool:
        return self.objective == "infill" and not self.causal


@dataclass(frozen=True)
class Encoded:
    source: list[int]
    target: list[int]
    plan: Plan  # the rules its target is written under


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


def words_in(text: str) -> int:
    """The words of a rung, as compressors.analysis counts them."""
    return text_effect(text)[0]


def plan(fmt: StepFormat, upper: str, **kwargs) -> Plan:
    """The rules a step from `upper` is written under (kwargs: Plan's bucket, words, limit)."""
    frags = tuple(fragments(upper)) if fmt.infill else None
    return Plan(frags, length_token=fmt.lengths, **kwargs)


def _with_sentinels(tok, parts: list[list[int]], first: list[int]) -> list[int]:
    """first + <gap_0> parts[0] <gap_1> parts[1] … : the sentinels numbered in order."""
    sent = sentinel_ids(tok)
    ids = list(first)
    for i, part in enumerate(parts):
        ids += [sent[i % SENTINELS], *part]
    return ids


def infill_source(tok, rung: str, step: int) -> list[int]:
    """The encoder ids of the infill step from `rung`: `<expand_k> <gap_0> f_1 … <gap_n> </s>`."""
    frags = pieces(tok, fragments(rung))
    ids = _with_sentinels(tok, frags, [tok.convert_tokens_to_ids(marker(step))])
    return ids + [sentinel_ids(tok)[len(frags) % SENTINELS], tok.eos_token_id]


def target_ids(tok, fmt: StepFormat, upper: str, lower: str) -> list[int]:
    """The untruncated ids a step writes, ending with the end token: `<words_b> <gap_0> gap_0 … </s>` for
    infill (AlignmentError if `upper`'s fragments are not in `lower` in order, words whole), else
    `<words_b> lower </s>`."""
    head = [tok.convert_tokens_to_ids(length_token(length_bucket(words_in(lower))))] if fmt.lengths else []
    if fmt.infill:
        found = align(upper, lower)
        if found is None:
            raise AlignmentError(f"rung {upper[:60]!r}… is not in the rung below in order, words whole")
        return _with_sentinels(tok, pieces(tok, found), head) + [tok.eos_token_id]
    return head + pieces(tok, [lower])[0] + [tok.eos_token_id]


def source_ids(tok, fmt: StepFormat, rung: str, step: int) -> list[int]:
    """Encoder input ids, or a decoder-only prompt, for expanding `rung` at `step`."""
    if fmt.causal:
        return prompt_ids(tok, rung, step, fmt.max_source_tokens)
    if fmt.infill:
        return infill_source(tok, rung, step)[: fmt.max_source_tokens]
    return tok(source(rung, step), max_length=fmt.max_source_tokens, truncation=True)["input_ids"]


def prompt_ids(tok, rung: str, step: int, max_source: int) -> list[int]:
    """A decoder-only model's prompt: the end token as a start, then the marked seed rung (none for text)."""
    ids = [tok.eos_token_id]
    if rung:
        ids += tok(source(rung, step), max_length=max_source, truncation=True)["input_ids"][:-1]
    return ids


def encode(pair: Pair, tok, fmt: StepFormat) -> Encoded:
    """A pair as token ids; AlignmentError if an infill pair's rung is not in its target in order."""
    target = target_ids(tok, fmt, pair.source, pair.target)
    return Encoded(
        source_ids(tok, fmt, pair.source, pair.step), target[: fmt.max_target_tokens], plan(fmt, pair.source)
    )


def collate(batch: list[Pair], tok, fmt: StepFormat) -> dict:
    """Padded tensors: input_ids/attention_mask (B, S), labels (B, T) with -100 where no loss is taken,
    steps (B,), and the rules of every label position: allowed_keys (B, T) into allowed_masks (K, V). A
    decoder-only model gets one sequence, prompt then target, labels on the target only."""
    return collate_encoded([encode(p, tok, fmt) for p in batch], [p.step for p in batch], tok, fmt)


def collate_encoded(encoded: list[Encoded], steps: list[int], tok, fmt: StepFormat) -> dict:
    """`collate` of pairs already encoded (validation encodes once for the loss, the baseline and the limits)."""
    import torch

    if fmt.causal:
        rows = [e.source + e.target for e in encoded]
        labels = [[-100] * len(e.source) + e.target for e in encoded]
    else:
        rows, labels = [e.source for e in encoded], [e.target for e in encoded]
    width = max(map(len, labels))
    keys, masks = teacher_masks([e.plan for e in encoded], [e.target for e in encoded], tok, width)
    if fmt.causal:  # the keys follow the labels: shifted past each prompt
        shifted = torch.zeros_like(keys)
        for b, e in enumerate(encoded):
            shifted[b, len(e.source) :] = keys[b, : width - len(e.source)]
        keys = shifted
    return {
        "input_ids": _pad(rows, tok.pad_token_id),
        "attention_mask": _pad([[1] * len(r) for r in rows], 0),
        "labels": _pad(labels, -100),
        "steps": torch.tensor(steps),
        "allowed_keys": keys,
        "allowed_masks": masks,
    }


def _pad(rows: list[list[int]], value: int):
    import torch

    width = max(map(len, rows))
    return torch.tensor([r + [value] * (width - len(r)) for r in rows])


def rung_of(row: Row, upper: str, fmt: StepFormat) -> Rung:
    """The rung a row wrote from `upper`: for infill, its gaps interleaved with `upper`'s fragments (a gap
    never written is empty); for rewrite, its text, with kept spans where `upper` is in it."""
    texts = row.gap_texts()
    if not fmt.infill:
        text = texts[0].strip() if texts else ""
        return Rung(text, kept_spans(upper, text))
    return Rung(*interleave(fragments(upper), texts))


def to_rung(tok, fmt: StepFormat, upper: str, ids: list[int]) -> Rung:
    """The rung that the written token ids give, read exactly as the decoder wrote them."""
    row = Row(plan(fmt, upper), token_table(tok))
    for i in ids:
        if row.done:
            break
        row.advance(i)
    return rung_of(row, upper, fmt)
