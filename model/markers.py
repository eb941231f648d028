"""The special tokens of the step format: pad, end, unknown, one marker per step, gap sentinels and length tokens.

Step k expands rung k into rung k - 1 (k = 1..L); its marker is `<expand_k>`, so one model learns every
step, told by the marker which one it is taking. The `infill` objective marks the gaps around the
fragments of rung k with sentinels `<gap_0>`, `<gap_1>`, …: `SENTINELS` of them, reused modulo their
number when a rung has more fragments (the default corpus has at most 42), since decoding forces the
next sentinel anyway and a nearby one is never ambiguous.

Every target of a step starts with a length token `<words_b>`: the bucket of the word count of the rung
it writes. Training learns it like any other token; sampling forces it to the length asked for, and the
decoder keeps the rung's word count inside the bucket (model.rules). Buckets hold one count each up to
8 words, then grow by a quarter, so any count of a bucket is within -20%/+25% of any other.
"""

from __future__ import annotations

import bisect
import math

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
SENTINELS = 32
LENGTHS = 48  # length buckets; the last is open-ended (over 40,000 words)


def marker(step: int) -> str:
    return f"<expand_{step}>"


def sentinel(gap: int) -> str:
    return f"<gap_{gap % SENTINELS}>"


def length_token(bucket: int) -> str:
    return f"<words_{bucket}>"


def _bucket_starts() -> list[int]:
    """The smallest word count of each bucket: 0, 1, …, 8, then each a quarter above the last, rounded up."""
    starts = list(range(9))
    while len(starts) < LENGTHS:
        starts.append(math.ceil(starts[-1] * 1.25))
    return starts


BUCKET_STARTS = _bucket_starts()


def length_bucket(words: int) -> int:
    """The bucket of a rung of `words` words."""
    return bisect.bisect_right(BUCKET_STARTS, max(words, 0)) - 1


def bucket_bounds(bucket: int) -> tuple[int, int | None]:
    """(fewest, most) words of a bucket, both included; the last bucket has no most."""
    if bucket + 1 < LENGTHS:
        return BUCKET_STARTS[bucket], BUCKET_STARTS[bucket + 1] - 1
    return BUCKET_STARTS[bucket], None


def special_tokens(levels: int) -> list[str]:
    """Pad, end and unknown first (their ids are 0, 1, 2 in a trained tokenizer), then markers, sentinels and
    length tokens."""
    return [
        PAD,
        EOS,
        UNK,
        *(marker(k) for k in range(1, levels + 1)),
        *(sentinel(i) for i in range(SENTINELS)),
        *(length_token(b) for b in range(LENGTHS)),
    ]


def source(rung: str, step: int) -> str:
    """The `rewrite` objective's encoder input that asks for rung step - 1 from `rung` (rung `step`)."""
    return f"{marker(step)} {rung}"
