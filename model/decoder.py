"""The step decoder: one step for a batch of rows, token by token with a KV cache, under the rules.

It owns the encoder pass (or a decoder-only model's prompt pass), the cache, the rules of every row
(model.rules) and dropping the rows that finish: a row that writes its end token leaves the batch, its
cache and its encoder states at once, so a batch costs about what its rows cost alone. What to write
at each position is the caller's: `sample` draws from the constrained distribution, `codec` codes the
known token (pack) or reads it from the range code (unpack). The loss masks with the same rules
(model.loss), so all three see one distribution.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from model import t5_step
from model.format import StepFormat
from model.rules import Plan, Row, next_penalties, start_rows

# (constrained logits (b, V) float32 of the rows still writing, their indices) -> next tokens (b,)
Choose = Callable[[torch.Tensor, list[int]], torch.Tensor]
# (the rows still writing, their indices) -> (b, V) float32 penalty: 0 where a token may come, -inf where not
Narrow = Callable[[list[Row], list[int]], torch.Tensor]


def _padded(rows: list[list[int]], pad: int, left: bool, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, rows))
    fill = [[pad] * (width - len(r)) for r in rows]
    ids = [f + r if left else r + f for r, f in zip(rows, fill)]
    mask = [[0] * len(f) + [1] * len(r) if left else [1] * len(r) + [0] * len(f) for r, f in zip(rows, fill)]
    return torch.tensor(ids, device=device), torch.tensor(mask, device=device)


class _HFState:
    """A running decode through HF's forward; `logits` (b, V) are the next token's for the b live rows."""

    cache: object
    logits: torch.Tensor

    def feed(self, tokens: torch.Tensor, keep: torch.Tensor | None) -> None:
        """Append `tokens` (B,), after dropping the rows `keep` (B,) leaves out of every per-row tensor."""
        if keep is not None:
            self._keep(keep)
            self.cache.batch_select_indices(keep)
            tokens = tokens[keep]
        self.logits = self._run(tokens)

    def _keep(self, keep: torch.Tensor) -> None:
        raise NotImplementedError

    def _run(self, tokens: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class _Seq2Seq(_HFState):
    """An encoder-decoder's running state: encoder states, their mask and the decoder's cache."""

    def __init__(self, model, ids: torch.Tensor, mask: torch.Tensor):
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        self.model, self.mask = model, mask  # (B, S)
        self.encoded = model.get_encoder()(input_ids=ids, attention_mask=self.mask).last_hidden_state  # (B, S, d)
        self.cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        start = torch.full((ids.shape[0],), model.config.decoder_start_token_id, device=model.device)
        self.logits = self._run(start)

    def _keep(self, keep: torch.Tensor) -> None:
        self.encoded, self.mask = self.encoded[keep], self.mask[keep]

    def _run(self, tokens: torch.Tensor) -> torch.Tensor:
        from transformers.modeling_outputs import BaseModelOutput

        out = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=self.encoded),
            attention_mask=self.mask,
            decoder_input_ids=tokens[:, None],
            cache=self.cache,
            use_cache=True,
        )
        return out.logits[:, -1]  # (b, V)


class _Causal(_HFState):
    """A decoder-only model's running state: left-padded prompts, their mask, positions and cache."""

    def __init__(self, model, prompts: list[list[int]], pad: int):
        from transformers.cache_utils import DynamicCache

        self.model = model
        ids, self.mask = _padded(prompts, pad, left=True, device=model.device)  # (B, P)
        positions = (self.mask.cumsum(-1) - 1).clamp(min=0)
        self.cache = DynamicCache()
        out = model(input_ids=ids, attention_mask=self.mask, position_ids=positions, cache=self.cache, use_cache=True)
        self.logits, self.next = out.logits[:, -1], self.mask.sum(-1)  # (b, V), (b,)

    def _keep(self, keep: torch.Tensor) -> None:
        self.mask, self.next = self.mask[keep], self.next[keep]

    def _run(self, tokens: torch.Tensor) -> torch.Tensor:
        self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], dim=1)
        out = self.model(
            input_ids=tokens[:, None],
            attention_mask=self.mask,
            position_ids=self.next[:, None],
            cache=self.cache,
            use_cache=True,
        )
        self.next = self.next + 1
        return out.logits[:, -1]  # (b, V)


def _start(model, fmt: StepFormat, sources: list[list[int]], pad: int, forward: str):
    if fmt.causal:
        return _Causal(model, sources, pad)
    ids, mask = _padded(sources, pad, left=False, device=model.device)  # (B, S)
    if forward == "t5-step" and t5_step.supports(model):
        return t5_step.T5Step(model, ids, mask)
    return _Seq2Seq(model, ids, mask)


def positions_left(model, fmt: StepFormat, sources: list[list[int]]) -> int | None:
    """Tokens a step may still write within a model's learned positions (GPT-2, BART), None for T5's."""
    cfg = model.config
    if getattr(cfg, "model_type", "") == "t5":
        return None
    n = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)
    if not n:
        return None
    return max(1, n - max(map(len, sources))) if fmt.causal else n - 1


def decode_step(
    model,
    tok,
    fmt: StepFormat,
    sources: list[list[int]],
    plans: list[Plan],
    choose: Choose,
    forward: str = "t5-step",
    narrow: Narrow | None = None,
) -> list[Row]:
    """Write one step for every source under its plan; each row's tokens are chosen by `choose`.

    sources: encoder ids (or a decoder-only model's prompts), one per row. forward: "t5-step" runs
    model.t5_step where it computes the model (faster, the same to float rounding), "hf" HF's forward
    always (codec archives record which one coded them). narrow: a sampling truncation beyond the rules
    (model.lexicon), a (b, V) penalty for the live rows, applied to each row it leaves some token.
    Returns the rows, done, each knowing what it wrote (`Row.gap_texts`, model.format.rung_of)."""
    rows = start_rows(plans, tok)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    with torch.no_grad():
        state = _start(model, fmt, sources, pad, forward)
        active = list(range(len(rows)))
        while active:
            logits = state.logits.float()
            penalty = next_penalties([rows[r] for r in active]).to(logits.device)  # (b, V of the tokenizer)
            if penalty.shape[-1] < logits.shape[-1]:
                logits = logits[:, : penalty.shape[-1]]  # ids past the tokenizer's never come
            logits = logits + penalty  # -inf where the rules forbid a token
            if narrow is not None:
                narrowed = logits + narrow([rows[r] for r in active], active)  # (b, V)
                logits = torch.where(torch.isfinite(narrowed).any(dim=-1, keepdim=True), narrowed, logits)
            tokens = choose(logits, active)  # (b,)
            for r, t in zip(active, tokens.tolist()):
                rows[r].advance(t)
            keep = [i for i, r in enumerate(active) if not rows[r].done]
            if not keep:
                break
            state.feed(tokens, None if len(keep) == len(active) else torch.tensor(keep, device=logits.device))
            active = [active[i] for i in keep]
    return rows
