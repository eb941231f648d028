"""How one expansion step is written for the model: a step marker, then the rung to expand.

Step k expands rung k into rung k - 1 (k = 1..L); its marker is `<expand_k>`. One model learns every
step, told by the marker which one it is taking.
"""

from __future__ import annotations

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"


def marker(step: int) -> str:
    return f"<expand_{step}>"


def special_tokens(levels: int) -> list[str]:
    return [PAD, EOS, UNK, *(marker(k) for k in range(1, levels + 1))]


def source(rung: str, step: int) -> str:
    """The encoder input that asks for rung step - 1 from `rung` (rung `step`)."""
    return f"{marker(step)} {rung}"


def prompt_ids(tokenizer, pair_source: str, step: int, max_source: int) -> list[int]:
    """A decoder-only model's prompt: the end token as a start, then the marked seed rung (none for text)."""
    ids = [tokenizer.eos_token_id]
    if pair_source:
        ids += tokenizer(source(pair_source, step), max_length=max_source, truncation=True)["input_ids"][:-1]
    return ids
