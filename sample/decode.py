"""Sampling one step for a batch of inputs, token by token with a KV cache, dropping rows as they finish.

`generate` runs a batch until its longest row ends; here a row that writes its end token leaves the
batch, its cache and its encoder states at once, so a batch costs about what its rows cost alone.
Infill steps are constrained by `model.format.constrain` (sentinels in order, none skipped, the end
only after the last one), so every output holds its rung above.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.format import StepFormat, constrain, sentinel_ids, special_ids


@dataclass(frozen=True)
class Decoding:
    temperature: float = 1.0  # 0: greedy
    top_p: float = 0.95
    top_k: int = 0  # 0: no top-k cut
    max_new_tokens: int | None = None  # None: the limit recorded for each step at export
    use_cache: bool = True  # keys and values of earlier tokens kept between decoding steps


def draw(logits, decoding: Decoding, generator=None):
    """One token id per row (b,) from logits (b, V): temperature, then top-k, then top-p (nucleus)."""
    import torch

    if decoding.temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / decoding.temperature
    if decoding.top_k:
        kth = logits.topk(min(decoding.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if decoding.top_p < 1:
        ordered, order = logits.sort(dim=-1, descending=True)
        probs = ordered.softmax(dim=-1)
        drop = probs.cumsum(dim=-1) - probs > decoding.top_p  # the first token is always kept
        logits = logits.scatter(-1, order, ordered.masked_fill(drop, float("-inf")))
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(1)


def sample_seq2seq(model, tok, fmt: StepFormat, sources: list[list[int]], gaps: list[int], decoding: Decoding,
                   limit: int, generator=None) -> list[list[int]]:
    """The token ids an encoder-decoder writes for each source (its end token included when it wrote one)."""
    import torch
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache
    from transformers.modeling_outputs import BaseModelOutput

    device, eos = model.device, tok.eos_token_id
    width = max(map(len, sources))
    ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in sources], device=device)  # (B, S)
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in sources], device=device)  # (B, S)
    sent = torch.tensor(sentinel_ids(tok), device=device) if fmt.infill else None
    specials = torch.tensor(special_ids(tok), device=device) if fmt.infill else None
    out: list[list[int]] = [[] for _ in sources]
    with torch.no_grad():
        enc = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, S, d)
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache()) if decoding.use_cache else None
        rows = torch.arange(len(sources), device=device)  # the source of each row still running
        count = torch.zeros(len(sources), dtype=torch.long, device=device)  # sentinels written per row
        due = torch.tensor(gaps, device=device)
        written = torch.full((len(sources), 1), model.config.decoder_start_token_id, device=device)  # (b, t)
        for _ in range(limit):
            step_in = written[:, -1:] if cache is not None else written  # with a cache, written is (b, 1)
            logits = model(encoder_outputs=BaseModelOutput(last_hidden_state=enc), attention_mask=mask,
                           decoder_input_ids=step_in, past_key_values=cache, use_cache=cache is not None).logits[:, -1]
            if fmt.infill:
                logits = constrain(logits.float(), count, due, sent, specials, eos)
            nxt = draw(logits.float(), decoding, generator)  # (b,)
            for r, t in zip(rows.tolist(), nxt.tolist()):
                out[r].append(t)
            if fmt.infill:
                count += torch.isin(nxt, sent).long()
            keep = (nxt != eos).nonzero().squeeze(1)
            if len(keep) == 0:
                break
            written = nxt[:, None] if cache is not None else torch.cat([written, nxt[:, None]], dim=1)
            if len(keep) < len(rows):
                enc, mask, rows, count, due, written = (x[keep] for x in (enc, mask, rows, count, due, written))
                if cache is not None:
                    cache.batch_select_indices(keep)
    return out


def sample_causal(model, tok, prompts: list[list[int]], decoding: Decoding, limit: int) -> list[list[int]]:
    """The token ids a decoder-only model writes after each prompt (left padded, one `generate` call)."""
    import torch

    width = max(map(len, prompts))
    pad = tok.pad_token_id
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=model.device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
    positions = getattr(model.config, "n_positions", None)  # prompt and text share the learned positions
    if positions:
        limit = max(1, min(limit, positions - width))
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, do_sample=decoding.temperature > 0,
                             temperature=decoding.temperature or None, top_p=decoding.top_p, top_k=decoding.top_k,
                             max_new_tokens=limit, use_cache=decoding.use_cache, pad_token_id=pad)
    return out[:, width:].tolist()


