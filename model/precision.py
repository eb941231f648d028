"""Which float precision runs the model: `auto` picks bf16 where the hardware computes it natively, fp32
elsewhere; an explicit bf16, fp16 or fp32 wins. One choice for every command that runs the model
(train, sample, codec, eval), printed with its reason.

On a CPU without bf16 kernels (AVX2 only), bf16 matmuls fall back to a reference kernel about ten times
slower than fp32: `auto` must never pick it there.
"""

from __future__ import annotations

from typing import Literal

Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def native_bf16(device: str) -> tuple[bool, str]:
    """(whether `device` computes bf16 natively, why)."""
    import torch

    if device.startswith("cuda"):
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return True, f"{torch.cuda.get_device_name(torch.device(device))} supports bf16"
        return False, "this GPU has no bf16"
    # oneDNN's own test for bf16 kernels (AVX-512 BF16 or AMX); torch has no public one for the CPU
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return True, f"oneDNN has bf16 kernels on this CPU ({torch.backends.cpu.get_cpu_capability()})"
    return False, f"this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bf16: it would run ~10x slower"


def resolve(asked: str, device: str) -> tuple[str, str]:
    """(the precision to run in, the reason) for a config's or flag's `asked` on `device`."""
    if asked not in PRECISIONS:
        raise ValueError(f"precision {asked!r}: one of {', '.join(PRECISIONS)}")
    if asked != "auto":
        return asked, "asked for"
    native, why = native_bf16(device)
    return ("bf16" if native else "fp32"), f"auto: {why}"


def dtype(precision: str):
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
