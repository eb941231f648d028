"""The export folder: weights (safetensors), tokenizer and `ladder.json` (model.export.ExportInfo).

`export/` loads with `AutoModelForSeq2SeqLM.from_pretrained` and `AutoTokenizer.from_pretrained`, from
every ZeRO stage (stage 3's partitioned weights are gathered first), and with `model.load`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from model.export import ExportInfo
from model.format import StepFormat, encode


def length_limits(val: dict, tokenizer, fmt: StepFormat) -> dict[str, int]:
    """Per step, a generation limit: 1.5 times the longest validation target of the format, in tokens."""
    return {str(k): int(1.5 * max(len(encode(p, tokenizer, fmt).target) for b in bs for p in b)) + 8
            for k, bs in val.items()}


def export(engine, tokenizer, run: Path, info: ExportInfo, rank: int) -> Path:
    import deepspeed
    import torch
    import torch.distributed as dist

    module = engine.module
    stage3 = engine.zero_optimization_stage() == 3
    state = None
    with deepspeed.zero.GatheredParameters(list(module.parameters()), modifier_rank=None, enabled=stage3):
        if rank == 0:
            state = {k: v.detach().to("cpu", torch.float32).clone() for k, v in module.state_dict().items()}
    out = run / "export"
    if rank == 0:
        tmp = run / ".tmp-export"
        shutil.rmtree(tmp, ignore_errors=True)
        module.config.dtype = torch.float32
        module.save_pretrained(str(tmp), state_dict=state, safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        info.write(tmp)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    dist.barrier()
    return out
