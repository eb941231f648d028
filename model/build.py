"""Build the encoder-decoder: from its config with random weights, or from a checkpoint folder."""

from __future__ import annotations

from model.config import ModelConfig


def hf_config(cfg: ModelConfig, vocab_size: int, pad_id: int, eos_id: int):
    """The transformers config of `cfg` for a vocabulary of `vocab_size` tokens."""
    if cfg.arch == "gpt2":
        from transformers import GPT2Config

        return GPT2Config(
            vocab_size=vocab_size,
            n_embd=cfg.d_model,
            n_layer=cfg.layers,
            n_head=cfg.heads,
            n_inner=cfg.d_ff,
            n_positions=cfg.max_positions,
            resid_pdrop=cfg.dropout,
            embd_pdrop=cfg.dropout,
            attn_pdrop=cfg.dropout,
            bos_token_id=eos_id,
            eos_token_id=eos_id,
            pad_token_id=pad_id,
        )
    if cfg.arch == "t5":
        from transformers import T5Config

        return T5Config(
            vocab_size=vocab_size,
            d_model=cfg.d_model,
            d_kv=cfg.d_model // cfg.heads,
            d_ff=cfg.d_ff,
            num_layers=cfg.layers,
            num_decoder_layers=cfg.layers,
            num_heads=cfg.heads,
            dropout_rate=cfg.dropout,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=True,
            pad_token_id=pad_id,
            eos_token_id=eos_id,
            decoder_start_token_id=pad_id,
        )
    from transformers import BartConfig

    return BartConfig(
        vocab_size=vocab_size,
        d_model=cfg.d_model,
        encoder_layers=cfg.layers,
        decoder_layers=cfg.layers,
        encoder_attention_heads=cfg.heads,
        decoder_attention_heads=cfg.heads,
        encoder_ffn_dim=cfg.d_ff,
        decoder_ffn_dim=cfg.d_ff,
        dropout=cfg.dropout,
        max_position_embeddings=cfg.max_positions,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=eos_id,
        decoder_start_token_id=eos_id,
        forced_eos_token_id=eos_id,
    )


def auto_class(causal: bool):
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    return AutoModelForCausalLM if causal else AutoModelForSeq2SeqLM


def build_model(cfg: ModelConfig, tokenizer):
    """A model for `tokenizer`: `cfg.init_from` loaded, else random weights of `cfg`'s sizes."""
    if cfg.init_from:
        model = auto_class(cfg.causal).from_pretrained(cfg.init_from)
        if model.get_input_embeddings().num_embeddings < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
        return model
    return auto_class(cfg.causal).from_config(
        hf_config(cfg, len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    )


def parameter_count(cfg: ModelConfig, vocab_size: int) -> int:
    """Parameters of `cfg` at `vocab_size`, counted on the meta device: nothing is allocated."""
    import torch

    with torch.device("meta"):
        model = auto_class(cfg.causal).from_config(hf_config(cfg, vocab_size, 0, 1))
    return sum(p.numel() for p in model.parameters())
