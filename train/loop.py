"""`train launch`: the training loop, through DeepSpeed's engine (its forward, backward and step)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from train import checkpoint
from train.config import TrainConfig


@dataclass
class Window:
    """Sums over the steps since the last log line (kept in the train state, so a resume continues it)."""

    loss: float = 0.0
    tokens: int = 0  # target tokens
    seen: int = 0  # source and target tokens, for tokens/s
    seconds: float = 0.0
    by_step: dict[str, list[float]] = field(default_factory=dict)  # step -> [loss sum, target tokens]

    def add(self, sums: dict[int, tuple[float, int]], seen: int) -> None:
        for k, (loss, n) in sums.items():
            acc = self.by_step.setdefault(str(k), [0.0, 0])
            acc[0] += loss
            acc[1] += n
            self.loss += loss
            self.tokens += n
        self.seen += seen


def evaluate(engine, val: dict, tokenizer, cfg: TrainConfig) -> dict[str, float]:
    """Mean validation loss (nats per target token) of each step of the ladder."""
    import torch

    from model.format import collate
    from model.loss import forward

    engine.eval()
    out = {}
    with torch.no_grad():
        for k, batches in val.items():
            loss, n = 0.0, 0
            for b in batches:
                _, sums = forward(engine, collate(b, tokenizer, cfg.step_format))
                loss, n = loss + sums[k][0], n + sums[k][1]
            out[str(k)] = loss / max(n, 1)
    engine.train()
    return out


def launch(cfg: TrainConfig, run: Path) -> dict:
    """Train `cfg` into the run folder `run`, resuming from its newest complete checkpoint. Returns the last metrics."""
    import deepspeed
    import torch
    import torch.distributed as dist
    from torch.optim.lr_scheduler import LambdaLR
    from tqdm import tqdm

    from model import ExportInfo, build_model
    from model.baseline import copy_loss
    from model.format import collate
    from model.loss import forward, tokens_in
    from model.pairs import ladder_settings, shards, val_batches
    from train import export, report
    from train.data import TrainStream, pairs_per_row
    from train.dist import deepspeed_config, init_distributed, lr_lambda
    from train.prepare import prepare_run, prepare_tokenizer

    rank, _, world = init_distributed()
    settings = ladder_settings(cfg.data.path)
    levels = settings["config"]["ladder"]["levels"]
    prepare_run(cfg, run, rank)
    tokenizer = prepare_tokenizer(cfg, run, levels, rank)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, tokenizer)
    engine, _, _, _ = deepspeed.initialize(
        model=model, model_parameters=[p for p in model.parameters() if p.requires_grad],
        config=deepspeed_config(cfg), lr_scheduler=lambda opt: LambdaLR(opt, lr_lambda(cfg)),
    )
    state = checkpoint.load(engine, run, rank) or {"step": 0, "micro_batches": 0, "window": {}, "elapsed": 0.0}
    window = Window(**state["window"])
    gas = cfg.deepspeed.gradient_accumulation
    stream = TrainStream(shards(cfg.data.path, "train"), cfg.deepspeed.micro_batch_size, cfg.data.step_weights,
                         cfg.data.shuffle_buffer, cfg.seed, rank, world, cfg.data.task,
                         pairs_per_row(settings, cfg.data.task), state.get("data"))
    batches = iter(stream)
    val = val_batches(shards(cfg.data.path, "val"), cfg.deepspeed.micro_batch_size, cfg.eval.max_batches, cfg.data.task)
    baseline = {str(k): v for k, v in copy_loss({k: [p for b in bs for p in b] for k, bs in val.items()}, tokenizer,
                                                cfg.step_format).items()}
    metrics = report.Metrics(run / "metrics.jsonl", rank, state["step"])
    bar = tqdm(total=cfg.schedule.max_steps, initial=state["step"], unit="step", dynamic_ncols=True,
               disable=rank != 0 or not cfg.logging.progress_bar)
    last: dict = {}
    while state["step"] < cfg.schedule.max_steps:
        start = time.perf_counter()
        for _ in range(gas):
            batch = collate(next(batches), tokenizer, cfg.step_format)
            loss, sums = forward(engine, batch)
            engine.backward(loss)
            engine.step()
            state["micro_batches"] += 1
            window.add(sums, tokens_in(batch, cfg.model.causal))
        state["step"] += 1
        window.seconds += time.perf_counter() - start
        bar.update(1)
        step = state["step"]
        if step % cfg.logging.interval == 0 or step == cfg.schedule.max_steps:
            last = metrics.train_line(step, window, engine.get_lr()[0], levels, state["elapsed"] + window.seconds,
                                      cfg.schedule.max_steps, bar)
            state["elapsed"] += window.seconds
            window = Window()
        if (cfg.eval.interval and step % cfg.eval.interval == 0) or step == cfg.schedule.max_steps:
            last = {**last, **metrics.eval_line(step, evaluate(engine, val, tokenizer, cfg), baseline, bar)}
        if (cfg.checkpoint.interval and step % cfg.checkpoint.interval == 0) or step == cfg.schedule.max_steps:
            state["window"], state["data"] = window.__dict__, stream.state.to_dict()
            checkpoint.save(engine, run, step, state, rank, cfg.checkpoint.keep)
    bar.close()
    info = ExportInfo.make(levels, cfg.step_format, cfg.data.task, export.length_limits(val, tokenizer, cfg.step_format),
                           settings["config"])
    export.export(engine, tokenizer, run, info, rank)
    if rank == 0:
        report.plot(run)
    dist.barrier()
    engine.destroy()
    return last
