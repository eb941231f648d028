"""The special tokens of the step format: pad, end, unknown, one marker per step, and gap sentinels.

Step k expands rung k into rung k - 1 (k = 1..L); its marker is `<expand_k>`, so one model learns every
step, told by the marker which one it is taking. The `infill` objective marks the gaps around the
fragments of rung k with sentinels `<gap_0>`, `<gap_1>`, …: `SENTINELS` of them, reused modulo their
number when a rung has more fragments (the default corpus has at most 42), since decoding forces the
next sentinel anyway and a nearby one is never ambiguous.
"""

from __future__ import annotations

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
SENTINELS = 32


def marker(step: int) -> str:
    return f"<expand_{step}>"


def sentinel(gap: int) -> str:
    return f"<gap_{gap % SENTINELS}>"


def special_tokens(levels: int) -> list[str]:
    """Pad, end and unknown first (their ids are 0, 1, 2 in a trained tokenizer), then markers and sentinels."""
    return [PAD, EOS, UNK, *(marker(k) for k in range(1, levels + 1)), *(sentinel(i) for i in range(SENTINELS))]


def source(rung: str, step: int) -> str:
    """The `rewrite` objective's encoder input that asks for rung step - 1 from `rung` (rung `step`)."""
    return f"{marker(step)} {rung}"
