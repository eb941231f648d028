"""The training config: one YAML file with a section per concern, parsed into these dataclasses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from model.config import ModelConfig


@dataclass(frozen=True)
class DataConfig:
    path: str = "ladders/default-L4"  # a folder written by `datagen build`: a local path or an fsspec URL (s3://...)
    # ladder: every step (rung k -> k-1); oneshot: top rung -> rung 0 only; text: rung 0 alone (a judge LM)
    task: Literal["ladder", "oneshot", "text"] = "ladder"
    # infill: write only the gaps around the rung above (it is kept verbatim); rewrite: write the whole
    # rung below (model.format). infill needs an encoder-decoder and a task with a rung above.
    objective: Literal["infill", "rewrite"] = "infill"
    max_source_tokens: int = 256
    max_target_tokens: int = 256
    step_weights: list[float] = field(default_factory=list)  # per step 1..L, share of its pairs drawn; [] = all
    shuffle_buffer: int = 4096


@dataclass(frozen=True)
class TokenizerConfig:
    path: str | None = None  # an existing tokenizer or model folder; None trains one on the ladders
    vocab_size: int = 8000
    min_frequency: int = 2
    max_texts: int = 200_000  # rungs read to train it


@dataclass(frozen=True)
class OptimizerConfig:
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.98])
    eps: float = 1e-8
    weight_decay: float = 0.01


@dataclass(frozen=True)
class ScheduleConfig:
    max_steps: int = 1000  # optimizer steps
    warmup_steps: int = 100
    decay: Literal["cosine", "linear", "constant"] = "cosine"
    min_lr_ratio: float = 0.1


@dataclass(frozen=True)
class DeepSpeedConfig:
    zero_stage: int = 0
    # auto: bf16 where the hardware computes it natively (a bf16 GPU, a CPU with oneDNN bf16 kernels),
    # else fp32 (model.precision); bf16, fp16 or fp32 as asked
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    micro_batch_size: int = 16  # pairs per process per forward
    gradient_accumulation: int = 1
    gradient_clipping: float = 1.0
    offload_optimizer: bool = False
    offload_param: bool = False
    extra: dict[str, object] = field(default_factory=dict)  # merged into the DeepSpeed config as is


@dataclass(frozen=True)
class LoggingConfig:
    interval: int = 10  # steps between log lines and metrics.jsonl records
    progress_bar: bool = True
    tensorboard: bool = True  # event files in the run's tensorboard/ folder: `tensorboard --logdir runs/`
    wandb: str | None = None  # a W&B project to log to as well (offline unless WANDB_MODE says otherwise)


@dataclass(frozen=True)
class EvalConfig:
    interval: int = 200  # steps between validation passes; 0: only at the end
    max_batches: int = 50  # per step of the ladder


@dataclass(frozen=True)
class CheckpointConfig:
    interval: int = 200  # steps between checkpoints; 0: only at the end
    keep: int = 2  # newest checkpoints kept


@dataclass(frozen=True)
class TrainConfig:
    hardware: str = "any"  # what this config is sized for, for people (first, as in every shipped config)
    # what the model is: the step format and the network, which an export describes
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    # how it is trained (seed: the weights' initialization and the order pairs are drawn in) and the run kept
    seed: int = 0
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    deepspeed: DeepSpeedConfig = field(default_factory=DeepSpeedConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)

    @property
    def step_format(self):
        from model.format import StepFormat

        return StepFormat(
            self.data.objective,
            self.model.causal,
            self.data.max_source_tokens,
            self.data.max_target_tokens,
            lengths=self.data.task != "text",
        )

    def validate(self) -> None:
        positive = {
            "schedule.max_steps": self.schedule.max_steps,
            "deepspeed.micro_batch_size": self.deepspeed.micro_batch_size,
            "deepspeed.gradient_accumulation": self.deepspeed.gradient_accumulation,
            "logging.interval": self.logging.interval,
            "data.max_source_tokens": self.data.max_source_tokens,
            "data.max_target_tokens": self.data.max_target_tokens,
            "tokenizer.vocab_size": self.tokenizer.vocab_size,
            "eval.max_batches": self.eval.max_batches,
            "checkpoint.keep": self.checkpoint.keep,
        }
        for key, value in positive.items():
            if value < 1:
                raise ValueError(f"{key}={value} must be positive")
        if self.deepspeed.zero_stage not in (0, 1, 2, 3):
            raise ValueError(f"deepspeed.zero_stage={self.deepspeed.zero_stage} must be 0, 1, 2 or 3")
        if any(w < 0 for w in self.data.step_weights) or (self.data.step_weights and not any(self.data.step_weights)):
            raise ValueError(f"data.step_weights={self.data.step_weights} must be non-negative, not all 0")
        if self.data.objective == "infill" and (self.model.causal or self.data.task == "text"):
            raise ValueError(
                f"data.objective=infill needs an encoder-decoder (model.arch={self.model.arch}) and a "
                f"rung to expand (data.task={self.data.task}): set data.objective: rewrite"
            )
        opt = self.optimizer
        if not (math.isfinite(opt.lr) and opt.lr > 0):
            raise ValueError(f"optimizer.lr={opt.lr} must be a finite number above 0")
        if len(opt.betas) != 2 or not all(0 <= b < 1 for b in opt.betas):
            raise ValueError(f"optimizer.betas={opt.betas} must be two numbers in [0, 1)")
        if not (math.isfinite(opt.eps) and opt.eps > 0) or not (
            math.isfinite(opt.weight_decay) and opt.weight_decay >= 0
        ):
            raise ValueError(
                f"optimizer.eps={opt.eps} must be above 0 and optimizer.weight_decay={opt.weight_decay} "
                "at least 0, both finite"
            )
        if self.schedule.warmup_steps < 0 or not 0 <= self.schedule.min_lr_ratio <= 1:
            raise ValueError(
                f"schedule.warmup_steps={self.schedule.warmup_steps} must be at least 0 and "
                f"schedule.min_lr_ratio={self.schedule.min_lr_ratio} in [0, 1]"
            )
        self.model.validate()
