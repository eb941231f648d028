"""`train launch`: the set-up (run folder, tokenizer, engine, data stream, validation tokenized once), then
the loop through DeepSpeed's engine (its forward, backward and step), then the export."""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import deepspeed
import torch
import torch.distributed as dist
from torch.optim.lr_scheduler import LambdaLR
from tqdm import tqdm

from model import ExportInfo, build_model
from model.baseline import copy_loss
from model.format import StepFormat, collate, collate_encoded, encode, words_in
from model.loss import forward, tokens_in
from model.pairs import ladder_settings, shards, val_batches
from model.precision import resolve as resolve_precision
from model.task import Task
from textladder.config import to_dict
from textladder.files import lock
from train import checkpoint, export, report
from train.config import CheckpointConfig, EvalConfig, LoggingConfig, ScheduleConfig, TrainConfig
from train.data import TrainStream, pairs_per_row
from train.dist import deepspeed_config, init_distributed, lr_lambda
from train.prepare import prepare_run, prepare_tokenizer


class TrainingError(RuntimeError):
    """A run that cannot go on (a loss that is not finite): named, with the last good checkpoint kept."""


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


@dataclass
class Validation:
    """The validation pairs, tokenized once: each step's collated batches, and what is measured of them
    before training (the copy baseline, each step's length limit, the texts' median length)."""

    batches: dict[int, list[dict]]
    baseline: dict[str, float]
    limits: dict[str, int]
    text_words: int

    @classmethod
    def of(cls, files, batch_size: int, max_batches: int, task: str, tok, fmt: StepFormat) -> Validation:
        pairs = val_batches(files, batch_size, max_batches, task)
        encoded = {k: [[encode(p, tok, fmt) for p in b] for b in bs] for k, bs in pairs.items()}
        batches = {
            k: [collate_encoded(es, [p.step for p in b], tok, fmt) for es, b in zip(ebs, pairs[k])]
            for k, ebs in encoded.items()
        }
        baseline = {
            str(k): v
            for k, v in copy_loss({k: [e for es in ebs for e in es] for k, ebs in encoded.items()}, tok).items()
        }
        below = Task(task).below
        texts = [p.target for k, bs in pairs.items() if below(k) == 0 for b in bs for p in b]
        return cls(
            batches,
            baseline,
            export.length_limits(encoded),
            int(statistics.median(map(words_in, texts))) if texts else 0,
        )


def evaluate(engine, val: Validation) -> tuple[dict[str, float], float]:
    """(mean validation loss of each step, over all steps), in nats per target token."""
    engine.eval()
    out, total, count = {}, 0.0, 0
    with torch.no_grad():
        for k, batches in val.batches.items():
            loss, n = 0.0, 0
            for b in batches:
                _, sums = forward(engine, b)
                loss, n = loss + sums[k][0], n + sums[k][1]
            out[str(k)] = loss / max(n, 1)
            total, count = total + loss, count + n
    engine.train()
    return out, total / max(count, 1)


@dataclass
class Run:
    """What the loop works with, made once by `set_up`."""

    folder: Path
    engine: object
    tokenizer: object
    fmt: StepFormat
    stream: TrainStream
    val: Validation
    metrics: report.Metrics
    levels: int
    build: dict  # the ladder build's resolved config
    rank: int
    world: int
    state: dict  # the train state: step, micro-batches, window, elapsed, data position


def set_up(cfg: TrainConfig, folder: Path) -> tuple[Run, TrainConfig]:
    """The run folder, tokenizer, engine (resumed from the newest complete checkpoint), stream and validation;
    and the config with its automatic values resolved (as config.yaml records it)."""
    rank, _, world = init_distributed()
    precision, why = resolve_precision(cfg.deepspeed.precision, _device())
    cfg = replace(cfg, deepspeed=replace(cfg.deepspeed, precision=precision))
    if rank == 0:
        print(f"precision: {precision} ({why})", flush=True)
    settings = ladder_settings(cfg.data.path)
    levels = settings["config"]["ladder"]["levels"]
    prepare_run(cfg, folder, rank, note=f"deepspeed.precision: {precision} ({why})")
    tokenizer = prepare_tokenizer(cfg.data.path, cfg.tokenizer, folder, levels, rank)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, tokenizer)
    engine, _, _, _ = deepspeed.initialize(
        model=model,
        model_parameters=[p for p in model.parameters() if p.requires_grad],
        config=deepspeed_config(cfg.deepspeed, cfg.optimizer),
        lr_scheduler=lambda opt: LambdaLR(opt, lr_lambda(cfg.schedule)),
    )
    state = checkpoint.load(engine, folder, rank) or {"step": 0, "micro_batches": 0, "window": {}, "elapsed": 0.0}
    fmt = cfg.step_format
    data = cfg.data
    stream = TrainStream(
        shards(data.path, "train"),
        cfg.deepspeed.micro_batch_size,
        data.step_weights,
        data.shuffle_buffer,
        cfg.seed,
        rank,
        world,
        data.task,
        pairs_per_row(settings, data.task),
        state.get("data"),
    )
    val = Validation.of(
        shards(data.path, "val"), cfg.deepspeed.micro_batch_size, cfg.eval.max_batches, data.task, tokenizer, fmt
    )
    metrics = report.Metrics(
        folder / "metrics.jsonl", rank, state["step"], cfg.logging.tensorboard, cfg.logging.wandb, to_dict(cfg)
    )
    return Run(
        folder, engine, tokenizer, fmt, stream, val, metrics, levels, settings["config"], rank, world, state
    ), cfg


def _every(interval: int, step: int, last: int) -> bool:
    return (interval and step % interval == 0) or step == last


def loop(
    run: Run,
    schedule: ScheduleConfig,
    logging: LoggingConfig,
    evaluation: EvalConfig,
    checkpoints: CheckpointConfig,
    accumulation: int,
) -> dict:
    """Train up to schedule.max_steps; the last metrics written. A loss that is not finite stops the run
    before it checkpoints, so the newest checkpoint stays the last good one."""
    engine, state, last_step = run.engine, run.state, schedule.max_steps
    window = Window(**state["window"])
    batches = iter(run.stream)
    bar = tqdm(
        total=last_step,
        initial=state["step"],
        unit="step",
        dynamic_ncols=True,
        disable=run.rank != 0 or not logging.progress_bar,
    )
    last: dict = {}
    while state["step"] < last_step:
        start = time.perf_counter()
        for _ in range(accumulation):
            batch = collate(next(batches), run.tokenizer, run.fmt)
            loss, sums = forward(engine, batch)
            if not _finite(sums, run.world):
                raise TrainingError(
                    f"the loss is not finite at step {state['step'] + 1} (optimizer.lr too high?): "
                    f"stopped; the last complete checkpoint in {run.folder} is kept"
                )
            engine.backward(loss)
            engine.step()
            state["micro_batches"] += 1
            window.add(sums, tokens_in(batch, run.fmt.causal))
        state["step"] += 1
        window.seconds += time.perf_counter() - start
        bar.update(1)
        step = state["step"]
        if _every(logging.interval, step, last_step):
            norm = engine.get_global_grad_norm()
            last = run.metrics.train_line(
                step,
                window,
                engine.get_lr()[0],
                run.levels,
                state["elapsed"] + window.seconds,
                last_step,
                bar,
                None if norm is None else float(norm),
            )
            state["elapsed"] += window.seconds
            window = Window()
        if _every(evaluation.interval, step, last_step):
            by_step, overall = evaluate(engine, run.val)
            last = {**last, **run.metrics.eval_line(step, by_step, run.val.baseline, bar, overall)}
        if _every(checkpoints.interval, step, last_step):
            state["window"], state["data"] = window.__dict__, run.stream.state.to_dict()
            checkpoint.save(engine, run.folder, step, state, run.rank, checkpoints.keep)
    bar.close()
    return last


def _finite(sums: dict[int, tuple[float, int]], world: int) -> bool:
    """Whether every rank's loss is finite: all ranks stop together, none waits in a collective."""
    finite = all(math.isfinite(v) for v, _ in sums.values())
    if world > 1:
        flag = torch.tensor([float(finite)], device=_device())
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        finite = bool(flag.item())
    return finite


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def finish(run: Run, task: str) -> None:
    """The export and the loss curve."""
    info = ExportInfo.make(run.levels, run.fmt, task, run.val.limits, run.build, run.val.text_words)
    export.export(run.engine, run.tokenizer, run.folder, info, run.rank)
    run.metrics.close()
    if run.rank == 0:
        report.plot(run.folder)
    dist.barrier()
    run.engine.destroy()


def launch(cfg: TrainConfig, folder: Path) -> dict:
    """Train `cfg` into the run folder `folder`, resuming from its newest complete checkpoint. Returns the last
    metrics. Rank 0 locks the folder for the run: a second `train launch` into it at once is refused."""
    first = int(os.environ.get("RANK", "0")) == 0
    with lock(folder, "another train launch") if first else contextlib.nullcontext():
        run, cfg = set_up(cfg, folder)
        last = loop(run, cfg.schedule, cfg.logging, cfg.eval, cfg.checkpoint, cfg.deepspeed.gradient_accumulation)
        finish(run, cfg.data.task)
    return last
