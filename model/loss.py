"""The per-token loss of the step format: one definition for training, validation and evaluation.

Every target position is scored under the rules the decoder samples with (model.rules, carried by the
batch as `allowed_keys` into `allowed_masks`), so the loss is the code length, in nats, of exactly the
distribution that sampling draws from.
"""

from __future__ import annotations

import torch


def token_losses(logits, labels):
    """Cross-entropy of each target token (B, T) in nats, 0 at padding; logits (B, T, V), labels (B, T)."""
    import torch.nn.functional as F

    return F.cross_entropy(logits.float().transpose(1, 2), labels, ignore_index=-100, reduction="none")


def logits_and_labels(model, batch: dict):
    """(logits (B, T, V), labels (B, T)) aligned so that logits[:, t] predicts labels[:, t], with what the
    rules forbid at -inf. `model` is a DeepSpeed engine or a plain transformers model."""
    device = model.device
    inputs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask")}
    labels, keys = batch["labels"].to(device), batch["allowed_keys"].to(device)
    if getattr(model, "module", model).config.is_encoder_decoder:
        logits = model(**inputs, labels=labels).logits  # the decoder is fed the shifted labels
    else:  # token t predicts token t + 1
        logits, labels, keys = model(**inputs).logits[:, :-1], labels[:, 1:], keys[:, 1:]
    allowed = batch["allowed_masks"].to(device)[keys]  # (B, T, V)
    vocab = logits.shape[-1]
    if allowed.shape[-1] != vocab:  # a model whose embedding is padded beyond the tokenizer: those never come
        allowed = torch.nn.functional.pad(allowed, (0, vocab - allowed.shape[-1]), value=False)
    return logits.float().masked_fill(~allowed, float("-inf")), labels


def forward(model, batch: dict):
    """(mean loss over the batch's target tokens, {step: (loss sum in nats, target tokens)}) for one micro-batch."""
    logits, labels = logits_and_labels(model, batch)
    per_token = token_losses(logits, labels)  # (B, T)
    mask = labels != -100
    per_example, counts = per_token.detach().sum(dim=1), mask.sum(dim=1)  # (B,), (B,)
    sums = {}
    for k in batch["steps"].unique().tolist():
        rows = (batch["steps"] == k).to(per_example.device)
        sums[k] = (float(per_example[rows].sum()), int(counts[rows].sum()))
    return per_token.sum() / mask.sum(), sums


def tokens_in(batch: dict, causal: bool) -> int:
    """Tokens a micro-batch feeds the model: source and target, or a decoder-only model's one sequence."""
    fed = int(batch["attention_mask"].sum())
    return fed if causal else fed + int((batch["labels"] != -100).sum())
