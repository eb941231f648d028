"""DeepSpeed set-up: the process group, threads, the DeepSpeed config and the LR schedule."""

from __future__ import annotations

import math
import os
import socket

from train.config import DeepSpeedConfig, OptimizerConfig, ScheduleConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_distributed() -> tuple[int, int, int]:
    """Join (or, run alone, create) the process group: (rank, local rank, world size)."""
    import deepspeed
    import torch

    for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1")):
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_PORT", str(free_port()))
    world, local = int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    if not torch.cuda.is_available():
        # the cores this process may run on (taskset, cgroups, Slurm), shared by the co-located ranks:
        # more threads than cores only makes them spin against each other
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // local_world))
    deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
    return int(os.environ["RANK"]), local, world


def deepspeed_config(ds: DeepSpeedConfig, opt: OptimizerConfig) -> dict:
    """The DeepSpeed config of these sections (ds.precision already resolved: not "auto")."""
    if ds.precision == "auto":
        raise ValueError("deepspeed.precision=auto: resolve it first (model.precision.resolve)")
    zero: dict = {"stage": ds.zero_stage}
    if ds.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu"}
    if ds.offload_param:
        zero["offload_param"] = {"device": "cpu"}
    return {
        "train_micro_batch_size_per_gpu": ds.micro_batch_size,
        "gradient_accumulation_steps": ds.gradient_accumulation,
        "gradient_clipping": ds.gradient_clipping,
        "zero_optimization": zero,
        "bf16": {"enabled": ds.precision == "bf16"},
        "fp16": {"enabled": ds.precision == "fp16"},
        # torch's AdamW: no FusedAdam build, and the same update on CPU and GPU
        "optimizer": {
            "type": "AdamW",
            "params": {
                "lr": opt.lr,
                "betas": opt.betas,
                "eps": opt.eps,
                "weight_decay": opt.weight_decay,
                "torch_adam": True,
            },
        },
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
        **ds.extra,
    }


def lr_lambda(s: ScheduleConfig):
    """Multiplier of the peak LR at each optimizer step: linear warm-up, then the configured decay."""

    def factor(step: int) -> float:
        if step < s.warmup_steps:
            return (step + 1) / s.warmup_steps
        if s.decay == "constant":
            return 1.0
        progress = min(1.0, (step - s.warmup_steps) / max(1, s.max_steps - s.warmup_steps))
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if s.decay == "cosine" else 1 - progress
        return s.min_lr_ratio + (1 - s.min_lr_ratio) * shape

    return factor
