"""The run folder before training: its resolved config, checked on resume, and its tokenizer."""

from __future__ import annotations

from pathlib import Path

import yaml

from textladder.config import ConfigError, dump, first_difference, to_dict
from train import checkpoint
from train.config import TokenizerConfig, TrainConfig

# Settings a resumed run may change: how long it trains and how it reports, not what it learns.
RESUMABLE = ("schedule.max_steps", "logging.", "eval.", "checkpoint.")


def prepare_run(cfg: TrainConfig, run: Path, rank: int, note: str = "") -> None:
    """Save the resolved config (`note`: a comment line on top, how automatic values were resolved), or check
    it against the one a resumed run was started with."""
    import torch.distributed as dist

    saved = run / "config.yaml"
    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
        checkpoint.clear_partial(run)
        if saved.exists() and checkpoint.complete(run):
            diff = first_difference(yaml.safe_load(saved.read_text(encoding="utf-8")), to_dict(cfg), RESUMABLE)
            if diff:
                key, was, asked = diff
                raise ConfigError(
                    f"{run} was trained with {key}={was!r}, this run asks {key}={asked!r}: "
                    "use another --out to start a new run"
                )
        saved.write_text((f"# {note}\n" if note else "") + dump(cfg), encoding="utf-8")
    dist.barrier()


def training_texts(data_path: str, max_texts: int):
    """Rungs of the training ladders (every rung of every variant, text included), up to max_texts."""
    from model.pairs import read_pairs, shards

    n = 0
    for pair in read_pairs(shards(data_path, "train")):
        for text in (pair.target, pair.source) if pair.step == 1 else (pair.source,):
            yield text
            n += 1
        if n >= max_texts:
            return


def prepare_tokenizer(data_path: str, cfg: TokenizerConfig, run: Path, levels: int, rank: int):
    """The run's tokenizer folder, trained on the ladders (or copied from tokenizer.path), and the run's
    lexicon (model.lexicon: the words of those ladders, counted in the same pass), once, by rank 0."""
    import torch.distributed as dist

    from model import lexicon
    from model.tokenizer import load_tokenizer, train_tokenizer

    folder = run / "tokenizer"
    if rank == 0 and not (folder / "tokenizer_config.json").exists():
        counter = lexicon.WordCounter()
        texts = training_texts(data_path, cfg.max_texts)
        if cfg.path:
            tok = load_tokenizer(cfg.path, levels)
            counter.count(texts)
        else:
            tok = train_tokenizer(counter.counted(texts), cfg.vocab_size, levels, cfg.min_frequency)
        lexicon.write(run, counter.words())
        tok.save_pretrained(str(folder))
    dist.barrier()
    return load_tokenizer(folder, levels)
