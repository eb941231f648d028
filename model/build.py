"""Build the encoder-decoder: from its config with random weights, or from a checkpoint folder."""

from __future__ import annotations

from model.config import ModelConfig


def hf_config(cfg: ModelConfig, vocab_size: int, pad_id: int, eos_id: int):
    """The transformers config of `cfg` for a vocabulary of `vocab_size` tokens: our sizes under each
    library's names for them."""
    ids = dict(vocab_size=vocab_size, pad_token_id=pad_id, eos_token_id=eos_id)
    if cfg.arch == "gpt2":
        from transformers import GPT2Config

        sizes = dict(n_embd=cfg.d_model, n_layer=cfg.layers, n_head=cfg.heads, n_inner=cfg.d_ff)
        drops = dict.fromkeys(("resid_pdrop", "embd_pdrop", "attn_pdrop"), cfg.dropout)
        return GPT2Config(**ids, **sizes, **drops, n_positions=cfg.max_positions, bos_token_id=eos_id)
    if cfg.arch == "t5":
        from transformers import T5Config

        sizes = dict(d_model=cfg.d_model, d_kv=cfg.d_model // cfg.heads, d_ff=cfg.d_ff, num_heads=cfg.heads)
        gelu = dict(feed_forward_proj="gated-gelu", tie_word_embeddings=True)
        layers = dict.fromkeys(("num_layers", "num_decoder_layers"), cfg.layers)
        return T5Config(**ids, **sizes, **layers, **gelu, dropout_rate=cfg.dropout, decoder_start_token_id=pad_id)
    from transformers import BartConfig

    per_side = dict(layers=cfg.layers, attention_heads=cfg.heads, ffn_dim=cfg.d_ff)
    sizes = {f"{side}_{name}": n for side in ("encoder", "decoder") for name, n in per_side.items()}
    starts = dict.fromkeys(("bos_token_id", "decoder_start_token_id", "forced_eos_token_id"), eos_id)
    return BartConfig(
        **ids, **sizes, **starts, d_model=cfg.d_model, dropout=cfg.dropout, max_position_embeddings=cfg.max_positions
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
