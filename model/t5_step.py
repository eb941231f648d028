"""A T5 decoder's one-token step written out in plain tensor ops, for sampling.

The step decoder (model.decoder) writes one token per row per call. At this project's model sizes a
call of the HF T5 forward costs about twice what its arithmetic does (module calls, mask building, a
cache that concatenates), which kept sampling from its speed goal (bench/sample_speed.py). This step
computes the same function from the same weights: the self-attention's query, key and value in one
matmul, a preallocated key/value buffer that doubles when full, the relative position bias tabled
once, the cross-attention's keys and values computed once per step. Its logits match the HF forward's
to float rounding (tests/test_decoder.py), not bit for bit: a codec archive records which forward
coded it (codec.coder.CoderSettings.forward), and a change here that moves any float is a new forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FIRST_CAPACITY = 64  # decoder positions the key/value buffers hold at first; they double when full


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """T5's layer norm without its weight (folded into the matmul after it: `_t`): scale only, no mean,
    in float32 as HF computes it."""
    return F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)


def _head_rows(keep: torch.Tensor, heads: int) -> torch.Tensor:
    """(b' H,) the rows of a (b H, ...) layout that belong to the kept rows `keep` (b',)."""
    return (keep[:, None] * heads + torch.arange(heads, device=keep.device)).reshape(-1)


def supports(model) -> bool:
    """Whether this step computes `model`'s decoder: a gated-GELU T5 with a tied, scaled head."""
    cfg = model.config
    return (
        getattr(cfg, "model_type", "") == "t5"
        and getattr(cfg, "is_gated_act", False)
        and getattr(cfg, "dense_act_fn", "") == "gelu_new"
        and not model.training
    )


def _attend(q: torch.Tensor, keys_t: torch.Tensor, values: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Attention of one query per row and head: q (n, 1, dk), keys_t (n, dk, T), values (n, T, dk), bias
    broadcastable to (n, 1, T); no scaling (T5 folds it into the weights). Returns (n, 1, dk)."""
    scores = torch.baddbmm(bias, q, keys_t)  # (n, 1, T)
    return torch.bmm(scores.softmax(dim=-1), values)


def _t(*weights: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """Linear weights (out, in) side by side as one (in, sum of out) matrix, contiguous: `x @ w` on it
    costs about two thirds of `F.linear` on the (out, in) layout at these sizes. scale (in,): a layer
    norm's weight before them, folded in (one op fewer per norm and position)."""
    joined = torch.cat(weights).t()
    if scale is not None:
        joined = (joined.float() * scale.float()[:, None]).to(joined.dtype)
    return joined.contiguous()


class _Layer:
    """One decoder block's weights and its rows' cached keys and values."""

    def __init__(self, block, encoded: torch.Tensor, heads: int, dk: int, capacity: int):
        self_attn, cross, ff = block.layer[0], block.layer[1], block.layer[2]
        a, c, f = self_attn.SelfAttention, cross.EncDecAttention, ff.DenseReluDense
        self.eps = self_attn.layer_norm.variance_epsilon
        self.qkv = _t(a.q.weight, a.k.weight, a.v.weight, scale=self_attn.layer_norm.weight)  # (d, 3 inner)
        self.out, self.cross_out = _t(a.o.weight), _t(c.o.weight)
        self.cross_q = _t(c.q.weight, scale=cross.layer_norm.weight)
        self.wi = _t(f.wi_0.weight, f.wi_1.weight, scale=ff.layer_norm.weight)  # (d, 2 d_ff)
        self.wo = _t(f.wo.weight)
        b, s, _ = encoded.shape
        self.cross_keys_t = c.k(encoded).view(b, s, heads, dk).permute(0, 2, 3, 1).reshape(b * heads, dk, s)
        self.cross_values = c.v(encoded).view(b, s, heads, dk).transpose(1, 2).reshape(b * heads, s, dk)
        self.keys_t = encoded.new_zeros(b, heads, dk, capacity)  # (b, H, dk, cap)
        self.values = encoded.new_zeros(b, heads, capacity, dk)  # (b, H, cap, dk)

    def grow(self) -> None:
        self.keys_t = torch.cat([self.keys_t, torch.zeros_like(self.keys_t)], dim=3)
        self.values = torch.cat([self.values, torch.zeros_like(self.values)], dim=2)

    def select(self, keep: torch.Tensor, head_rows: torch.Tensor) -> None:
        self.keys_t, self.values = self.keys_t[keep], self.values[keep]
        self.cross_keys_t, self.cross_values = self.cross_keys_t[head_rows], self.cross_values[head_rows]


class T5Step:
    """An encoder-decoder's running state for the step decoder, as model.decoder's HF state: `logits` (b, V)
    of the next position, `feed(tokens, keep)` writes one token per row after keeping rows `keep`."""

    def __init__(self, model, ids: torch.Tensor, mask: torch.Tensor):
        cfg = model.config
        self.heads, self.dk, self.t = cfg.num_heads, cfg.d_kv, 0
        encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, S, d)
        decoder = model.get_decoder()
        self.embed = decoder.embed_tokens.weight
        self.eps = decoder.final_layer_norm.variance_epsilon
        scale = cfg.d_model**-0.5 if getattr(cfg, "scale_decoder_outputs", True) else 1.0
        self.head = _t(model.lm_head.weight, scale=decoder.final_layer_norm.weight * scale)  # (d, V)
        self.position_attention = decoder.block[0].layer[0].SelfAttention  # the block that holds the bias
        self.layers = [_Layer(block, encoded, self.heads, self.dk, FIRST_CAPACITY) for block in decoder.block]
        self._table_bias(FIRST_CAPACITY)
        low = torch.finfo(encoded.dtype).min
        self.cross_bias = (
            encoded.new_zeros(mask.shape).masked_fill(mask == 0, low).repeat_interleave(self.heads, 0)[:, None]
        )  # (B H, 1, S)
        start = torch.full((ids.shape[0],), cfg.decoder_start_token_id, device=ids.device)
        self.logits = self._run(start)

    def _table_bias(self, capacity: int) -> None:
        # the bias of a key depends only on how far back it is: entry j of the last query's row is
        # distance capacity - 1 - j, so position t reads the table's last t + 1 entries
        bias = self.position_attention.compute_bias(1, capacity, past_seen_tokens=capacity - 1)  # (1, H, 1, cap)
        self.bias, self.capacity = bias[0, :, 0].to(self.embed.dtype), capacity  # (H, cap)

    def _run(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.t == self.capacity:
            for layer in self.layers:
                layer.grow()
            self._table_bias(2 * self.capacity)
        b, h, dk, t = tokens.shape[0], self.heads, self.dk, self.t
        bias = self.bias[:, self.capacity - 1 - t :].repeat(b, 1)[:, None]  # (b H, 1, t + 1)
        x = F.embedding(tokens, self.embed)  # (b, d)
        for layer in self.layers:
            x = self._block(layer, x, bias, b, h, dk, t)
        self.t += 1
        return rms_norm(x, self.eps) @ self.head  # (b, V)

    def _block(self, layer: _Layer, x: torch.Tensor, bias: torch.Tensor, b: int, h: int, dk: int, t: int):
        q, k, v = (rms_norm(x, layer.eps) @ layer.qkv).view(b, 3, h, dk).unbind(1)
        layer.keys_t[:, :, :, t] = k
        layer.values[:, :, t] = v
        keys_t = layer.keys_t[:, :, :, : t + 1].reshape(b * h, dk, t + 1)
        values = layer.values[:, :, : t + 1].reshape(b * h, t + 1, dk)
        attended = _attend(q.reshape(b * h, 1, dk), keys_t, values, bias).view(b, h * dk)
        x = torch.addmm(x, attended, layer.out)
        q = (rms_norm(x, layer.eps) @ layer.cross_q).view(b * h, 1, dk)
        attended = _attend(q, layer.cross_keys_t, layer.cross_values, self.cross_bias).view(b, h * dk)
        x = torch.addmm(x, attended, layer.cross_out)
        gate, linear = (rms_norm(x, layer.eps) @ layer.wi).chunk(2, dim=-1)
        return torch.addmm(x, (F.gelu(gate, approximate="tanh") * linear).to(layer.wo.dtype), layer.wo)

    def feed(self, tokens: torch.Tensor, keep: torch.Tensor | None) -> None:
        if keep is not None:
            tokens, head_rows = tokens[keep], _head_rows(keep, self.heads)
            for layer in self.layers:
                layer.select(keep, head_rows)
            self.cross_bias = self.cross_bias[head_rows]
        self.logits = self._run(tokens)
