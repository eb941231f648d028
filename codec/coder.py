"""Coding one chunk with the model: its steps' target tokens under the model's distribution.

Pack and unpack get their probabilities from the same code: a `Session` decodes token by token with a
KV cache, as `sample.decode.sample_seq2seq` does, applying the infill constraint exactly as sampling
does, on CPU in fp32 with deterministic algorithms and a fixed thread count. Pack feeds it the known
tokens, unpack the decoded ones, so both see the same numbers. Probabilities are quantized to integer
frequencies with a floor of 1, so no token is impossible, and a position the constraint forces (one
token left) is not coded at all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from compressors.ladder import LadderConfig, build
from compressors.select import CannotCompress
from model.export import ExportInfo
from model.format import AlignmentError, constrain, infill_target, pieces, sentinel_ids, source_ids, special_ids, to_rung

TOTAL = 1 << 24  # quantization total; constriction's default range coder has 24 bits of precision


@dataclass(frozen=True)
class CoderSettings:
    threads: int = 1  # torch threads: float reductions may depend on it, so it is fixed and recorded
    verify: bool = True  # decode each chunk again in pack and fall back when it does not round-trip
    max_tokens: int = 65536  # per step in unpack: a damaged archive stops instead of looping

    def as_dict(self) -> dict:
        """What unpack needs (verify is pack's alone)."""
        return {k: v for k, v in asdict(self).items() if k != "verify"}


@dataclass(frozen=True)
class Step:
    step: int  # k: rung k expanded into rung k - 1 (the top rung's index for oneshot, 0 for text)
    upper: str  # rung k ("" for a text model)
    lower: str  # rung k - 1


@dataclass
class Cost:
    """Ideal code length in bits (-log2 p under the unquantized model) of a chunk, per step."""
    by_step: dict[int, float] = field(default_factory=dict)
    tokens: int = 0
    steps: list = field(default_factory=list)  # the Steps coded (what --online then trains on)


def setup(threads: int) -> None:
    import torch

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


class Unfit(Exception):
    """A chunk the model cannot code exactly: it goes to the fallback, with this reason."""


# --- what a chunk's code is made of -----------------------------------------------------------------

def ladder_config(info: ExportInfo) -> LadderConfig:
    """The ladder settings the model was trained on; variant 0 is greedy, the same with any variant count.

    An export from before ladder scorers existed was trained on what is now the "rake" scorer."""
    return LadderConfig(**{"levels": info.levels, "scorer": "rake", **info.ladder, "variants": 1})


def steps_of(chunk: str, info: ExportInfo, document: str | None = None) -> tuple[str, list[Step]]:
    """(the top word the fallback codes, the steps the model codes) for a chunk, or Unfit.

    `document`: the whole text the chunk was cut from, which the "topic" scorer steers by (as datagen)."""
    if info.task == "text":
        return "", [Step(0, "", chunk)]
    try:
        rungs = [chunk, *build(chunk, ladder_config(info), document=document).variants[0]]
    except CannotCompress as e:
        raise Unfit(f"no ladder ({e.reason})") from e
    top = rungs[-1]
    if info.task == "oneshot":
        return top, [Step(len(rungs) - 1, top, chunk)]
    return top, [Step(k, rungs[k], rungs[k - 1]) for k in range(len(rungs) - 1, 0, -1)]


def target_ids(tok, info: ExportInfo, step: Step) -> list[int]:
    """The tokens the model writes for a step, untruncated, ending with the end token."""
    fmt = info.step_format
    if fmt.infill:
        try:
            return infill_target(tok, step.upper, step.lower)
        except AlignmentError as e:
            raise Unfit(f"step {step.step}: {e}") from e
    ids = pieces(tok, [step.lower])[0] if fmt.causal else tok(step.lower)["input_ids"]
    return ids if ids and ids[-1] == tok.eos_token_id else [*ids, tok.eos_token_id]


def rung_of(tok, info: ExportInfo, step: Step, ids: list[int]) -> str:
    """The rung these written tokens give, exactly as sampling reads them."""
    return str(to_rung(tok, info.step_format, step.upper, ids))


# --- the model's distribution, one token at a time --------------------------------------------------

class Session:
    """Next-token probabilities of one step, fed one token at a time (KV cache, fp32, CPU)."""

    def __init__(self, model, tok, info: ExportInfo, step: Step):
        import torch
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        self.model, self.tok, self.eos = model, tok, tok.eos_token_id
        fmt = info.step_format
        source, gaps = source_ids(tok, fmt, step.upper, step.step)
        self.causal, self.infill = fmt.causal, fmt.infill
        self.positions = _positions(model)
        self.used = len(source)
        with torch.no_grad():
            if self.causal:
                self.cache = DynamicCache()
                self.logits = model(input_ids=torch.tensor([source]), past_key_values=self.cache,
                                    use_cache=True).logits[:, -1]
            else:
                ids = torch.tensor([source])
                self.mask = torch.ones_like(ids)
                self.enc = model.get_encoder()(input_ids=ids, attention_mask=self.mask).last_hidden_state
                self.cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
                self.used = 0
                self._decode(model.config.decoder_start_token_id)
        if self.infill:
            sent = sentinel_ids(tok)
            self.sent = torch.tensor(sent)
            self.sent_set = set(sent)
            self.specials = torch.tensor(special_ids(tok))
            self.count, self.due = torch.zeros(1, dtype=torch.long), torch.tensor([gaps])

    def _decode(self, token: int) -> None:
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        self.used += 1
        if self.positions and self.used > self.positions:
            raise Unfit(f"longer than the model's {self.positions} positions")
        with torch.no_grad():
            if self.causal:
                out = self.model(input_ids=torch.tensor([[token]]), past_key_values=self.cache, use_cache=True)
            else:
                out = self.model(encoder_outputs=BaseModelOutput(last_hidden_state=self.enc), attention_mask=self.mask,
                                 decoder_input_ids=torch.tensor([[token]]), past_key_values=self.cache, use_cache=True)
        self.logits = out.logits[:, -1]

    def probs(self) -> np.ndarray:
        """(V,) float64 probabilities of the next token, after the infill constraint."""
        import torch

        logits = self.logits.float()
        if self.infill:
            logits = constrain(logits, self.count, self.due, self.sent, self.specials, self.eos)
        return torch.softmax(logits, dim=-1)[0].double().numpy()

    def feed(self, token: int) -> None:
        if self.infill and token in self.sent_set:
            self.count += 1
        self._decode(token)


def _positions(model) -> int:
    """Learned positions of a decoder (GPT-2, BART), 0 for T5's relative ones."""
    cfg = model.config
    if getattr(cfg, "model_type", "") == "t5":
        return 0
    return getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", 0) or 0


def quantize(p: np.ndarray) -> np.ndarray:
    """Integer frequencies (as float64 for constriction), each at least 1, summing to about TOTAL."""
    return np.floor(p * (TOTAL - len(p))) + 1.0


def _forced(p: np.ndarray) -> int | None:
    nonzero = np.flatnonzero(p)
    return int(nonzero[0]) if len(nonzero) == 1 else None


# --- coding -----------------------------------------------------------------------------------------

def encode_step(session: Session, ids: list[int], encoder, cost: Cost, step: int) -> None:
    import constriction

    bits = 0.0
    for i, t in enumerate(ids):
        p = session.probs()
        if _forced(p) is None:
            bits -= math.log2(max(p[t], 1e-300))
            encoder.encode(t, constriction.stream.model.Categorical(quantize(p), perfect=False))
        elif _forced(p) != t:
            raise Unfit(f"step {step}: token {t} where the format forces {_forced(p)}")
        if i < len(ids) - 1:
            session.feed(t)
    cost.by_step[step] = cost.by_step.get(step, 0.0) + bits
    cost.tokens += len(ids)


def decode_step(session: Session, decoder, limit: int) -> list[int]:
    import constriction

    out: list[int] = []
    while len(out) < limit:
        p = session.probs()
        forced = _forced(p)
        t = forced if forced is not None else int(
            decoder.decode(constriction.stream.model.Categorical(quantize(p), perfect=False)))
        out.append(t)
        if t == session.eos:
            return out
        session.feed(t)
    raise Unfit(f"no end token in {limit} tokens")


def encode_chunk(model, tok, info: ExportInfo, chunk: str, document: str | None = None) -> tuple[str, np.ndarray, Cost]:
    """(top word, the chunk's range code as uint32 words, its ideal cost), or Unfit."""
    import constriction

    top, steps = steps_of(chunk, info, document)
    encoder, cost = constriction.stream.queue.RangeEncoder(), Cost(steps=steps)
    for step in steps:
        ids = target_ids(tok, info, step)
        if rung_of(tok, info, step, ids) != step.lower:
            raise Unfit(f"step {step.step}: the tokenizer does not give this rung back")
        encode_step(Session(model, tok, info, step), ids, encoder, cost, step.step)
    return top, encoder.get_compressed(), cost


def decode_chunk(model, tok, info: ExportInfo, top: str, words: np.ndarray, limit: int) -> str:
    """The chunk from its top word and range code: each step's rung from the one above."""
    return decode_steps(model, tok, info, top, words, limit)[-1].lower


def decode_steps(model, tok, info: ExportInfo, top: str, words: np.ndarray, limit: int) -> list[Step]:
    """The steps of a chunk decoded from its top word and range code, top first (the last one's lower is the text)."""
    import constriction

    decoder = constriction.stream.queue.RangeDecoder(words)
    if info.task == "text":
        plan = [0]
    elif info.task == "oneshot":
        plan = [info.levels]
    else:
        plan = list(range(info.levels, 0, -1))
    rung, steps = top, []
    for k in plan:
        step = Step(k, rung, "")
        rung = rung_of(tok, info, step, decode_step(Session(model, tok, info, step), decoder, limit))
        steps.append(Step(k, step.upper, rung))
    return steps
