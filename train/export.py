"""The export folder: weights (safetensors), tokenizer and ladder settings, for plain transformers and `sample`.

`export/` loads with `AutoModelForSeq2SeqLM.from_pretrained` and `AutoTokenizer.from_pretrained`, from
every ZeRO stage (stage 3's partitioned weights are gathered first). `ladder.json` records what
`sample` needs: the levels, each step's marker, and a length limit for each step.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from model.markers import marker


def length_limits(val: dict, tokenizer) -> dict[str, int]:
    """Per step, a generation limit: 1.5 times the longest validation target, in tokens."""
    return {str(k): int(1.5 * max(len(tokenizer(p.target)["input_ids"]) for b in bs for p in b)) + 8
            for k, bs in val.items()}


def export(engine, tokenizer, run: Path, settings: dict, limits: dict[str, int], task: str, rank: int,
           max_tokens: tuple[int, int] = (512, 512)) -> Path:
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
        ladder = settings["config"]["ladder"]
        info = {
            "task": task,  # ladder: one step at a time; oneshot: top rung to text at once; text: a judge
            "causal": not module.config.is_encoder_decoder,
            "levels": ladder["levels"],
            "markers": {str(k): marker(k) for k in range(1, ladder["levels"] + 1)},
            "max_new_tokens_by_step": limits,
            "max_source_tokens": max_tokens[0],  # what it was trained on
            "max_target_tokens": max_tokens[1],
            "ladder": ladder,
            "max_words": settings["config"]["max_words"],
            "data": settings["config"]["out"],
        }
        (tmp / "ladder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    dist.barrier()
    return out
