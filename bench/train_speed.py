"""Training speed: `train launch`'s DeepSpeed engine (fp32, bf16) against a plain PyTorch loop.

One process, the same model (configs/cpu-demo.yaml's), the same micro-batches of the default ladders,
the same AdamW settings. Each loop runs WARMUP steps, then is timed over STEPS steps; prints target
and source tokens per second and the ratios. Needs `datagen build --levels 4` first.
Usage: python bench/train_speed.py [--config configs/cpu-demo.yaml] [--steps 30]
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import replace

import torch

from model import build_model
from model.format import collate
from model.loss import forward, tokens_in
from model.pairs import ladder_settings, shards
from model.precision import resolve as resolve_precision
from model.tokenizer import train_tokenizer
from textladder.config import load
from train.config import TrainConfig
from train.data import TrainStream, pairs_per_row
from train.dist import deepspeed_config, init_distributed
from train.prepare import training_texts


def batches(cfg: TrainConfig, tokenizer, n: int) -> list[dict]:
    stream = iter(
        TrainStream(
            shards(cfg.data.path, "train"),
            cfg.deepspeed.micro_batch_size,
            cfg.data.step_weights,
            cfg.data.shuffle_buffer,
            cfg.seed,
            task=cfg.data.task,
            pairs_per_row=pairs_per_row(ladder_settings(cfg.data.path), cfg.data.task),
        )
    )
    return [collate(b, tokenizer, cfg.step_format) for b in itertools.islice(stream, n)]


def plain_loop(cfg: TrainConfig, tokenizer, data: list[dict], warmup: int) -> float:
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, tokenizer)
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=cfg.optimizer.lr,
        betas=tuple(cfg.optimizer.betas),
        eps=cfg.optimizer.eps,
        weight_decay=cfg.optimizer.weight_decay,
    )
    model.train()
    for i, b in enumerate(data):
        if i == warmup:
            start, seen = time.perf_counter(), 0
        loss, _ = forward(model, b)  # the same loss (and infill constraint) as training; plain PyTorch around it
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.deepspeed.gradient_clipping)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= warmup:
            seen += tokens_in(b, causal=False)
    return seen / (time.perf_counter() - start)


def deepspeed_loop(cfg: TrainConfig, tokenizer, data: list[dict], warmup: int) -> float:
    import deepspeed

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, tokenizer)
    engine, *_ = deepspeed.initialize(
        model=model, model_parameters=model.parameters(), config=deepspeed_config(cfg.deepspeed, cfg.optimizer)
    )
    for i, b in enumerate(data):
        if i == warmup:
            start, seen = time.perf_counter(), 0
        loss, _ = forward(engine, b)
        engine.backward(loss)
        engine.step()
        if i >= warmup:
            seen += tokens_in(b, causal=False)
    rate = seen / (time.perf_counter() - start)
    engine.destroy()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/cpu-demo.yaml")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    cfg = load(TrainConfig, args.config)
    cfg = replace(cfg, deepspeed=replace(cfg.deepspeed, gradient_accumulation=1, zero_stage=0))
    init_distributed()
    tokenizer = train_tokenizer(
        training_texts(cfg.data.path, cfg.tokenizer.max_texts), cfg.tokenizer.vocab_size, 4, cfg.tokenizer.min_frequency
    )
    data = batches(cfg, tokenizer, args.warmup + args.steps)
    print(
        f"{args.steps} timed micro-batches of {cfg.deepspeed.micro_batch_size} pairs, {torch.get_num_threads()} threads"
    )
    plain = plain_loop(cfg, tokenizer, data, args.warmup)
    print(f"plain PyTorch AdamW fp32:   {plain:8.0f} tokens/s")
    rates = {}
    for precision in ("fp32", "bf16"):
        c = replace(cfg, deepspeed=replace(cfg.deepspeed, precision=precision))
        rates[precision] = deepspeed_loop(c, tokenizer, data, args.warmup)
        print(
            f"DeepSpeed engine {precision}:      {rates[precision]:8.0f} tokens/s = "
            f"{rates[precision] / plain:.2f}x the plain loop"
        )
    print(f"bf16 / fp32 (DeepSpeed): {rates['bf16'] / rates['fp32']:.2f}x")
    chosen, why = resolve_precision("auto", "cpu")
    other = "fp32" if chosen == "bf16" else "bf16"
    print(f"precision auto -> {chosen} ({why}): {rates[chosen] / rates[other]:.2f}x the speed of {other}")


if __name__ == "__main__":
    main()
