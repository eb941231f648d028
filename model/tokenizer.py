"""The tokenizer: byte-level BPE trained on the training ladders with the `tokenizers` library.

Saved as a standard folder that `transformers.AutoTokenizer.from_pretrained` loads, with the pad,
end and unknown tokens and one marker per expansion step as special tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from model.markers import EOS, PAD, UNK, special_tokens


def train_tokenizer(texts: Iterable[str], vocab_size: int, levels: int, min_frequency: int = 2):
    """A PreTrainedTokenizerFast trained on `texts`; every sequence it encodes ends with </s>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=special_tokens(levels),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", special_tokens=[(EOS, tok.token_to_id(EOS))])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        eos_token=EOS,
        unk_token=UNK,
        additional_special_tokens=special_tokens(levels)[3:],
    )


def load_tokenizer(path: str | Path, levels: int):
    """A tokenizer folder (ours or any model's), with the step markers added when it lacks them."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    missing = [t for t in special_tokens(levels)[3:] if t not in tok.get_vocab()]
    if missing:
        tok.add_special_tokens({"additional_special_tokens": missing})
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok
