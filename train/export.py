"""The export folder: weights (safetensors), tokenizer and `ladder.json` (model.export.ExportInfo).

`export/` loads with `AutoModelForSeq2SeqLM.from_pretrained` and `AutoTokenizer.from_pretrained`, from
every ZeRO stage (stage 3's partitioned weights are gathered first), and with `model.load`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from model import lexicon
from model.export import ExportInfo
from model.format import Encoded


class ExportError(RuntimeError):
    pass


def length_limits(encoded_by_step: dict[int, list[list[Encoded]]]) -> dict[str, int]:
    """Per step, a generation limit: 1.5 times the longest validation target, in tokens."""
    return {str(k): int(1.5 * max(len(e.target) for b in bs for e in b)) + 8 for k, bs in encoded_by_step.items()}


def export(engine, tokenizer, run: Path, info: ExportInfo, rank: int) -> Path:
    import deepspeed
    import torch
    import torch.distributed as dist

    module = engine.module
    stage3 = engine.zero_optimization_stage() == 3
    state = None
    with deepspeed.zero.GatheredParameters(list(module.parameters()), modifier_rank=None, enabled=stage3):
        finite = all(bool(torch.isfinite(p).all()) for p in module.parameters())  # every rank sees the same
        if rank == 0 and finite:
            state = {k: v.detach().to("cpu", torch.float32).clone() for k, v in module.state_dict().items()}
    if not finite:
        raise ExportError(f"{run}: the weights hold NaN or inf: no export written (the previous one, if any, is kept)")
    out = run / "export"
    if rank == 0:
        tmp = run / ".tmp-export"
        shutil.rmtree(tmp, ignore_errors=True)
        module.config.dtype = torch.float32
        module.save_pretrained(str(tmp), state_dict=state, safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        if (run / lexicon.FILE).exists():  # a run started before lexicons exports none
            shutil.copy(run / lexicon.FILE, tmp / lexicon.FILE)
        info.write(tmp)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    dist.barrier()
    return out
