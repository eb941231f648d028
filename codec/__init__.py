"""The ladder model as a compressor: `codec pack`, `codec unpack`, `codec bench` (issue 11).

A text is cut into the chunks the model was trained on; each chunk is coded as its variant-0 ladder
(the top word by the fallback, then each step's target tokens under the model's distribution, down to
rung 0) with a range coder (`constriction`). Whatever the model cannot reproduce exactly goes to a zstd
fallback, so `unpack` gives back the input byte for byte on any input.
"""

from codec.container import FORMAT_VERSION, CodecError

__all__ = ["FORMAT_VERSION", "CodecError"]
