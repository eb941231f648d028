"""Finding and loading a model for sampling: an export folder, a run folder, or the newest run."""

from __future__ import annotations

import json
from pathlib import Path


class SampleError(ValueError):
    pass


def resolve(model: str | None, runs: Path = Path("runs")) -> Path:
    """The export folder to sample from: `model` itself, `model`/export, or the newest run's export."""
    if model is None:
        exports = sorted((p for p in runs.glob("*/export/ladder.json")
                          if json.loads(p.read_text(encoding="utf-8")).get("task") != "text"),  # judges expand nothing
                         key=lambda p: p.stat().st_mtime)
        if not exports:
            raise SampleError(f"no trained model in {runs}/: train one with `train launch configs/cpu-demo.yaml` "
                              "(after `datagen build --levels 4`), or pass --model DIR")
        return exports[-1].parent
    path = Path(model)
    for candidate in (path, path / "export"):
        if (candidate / "ladder.json").exists():
            return candidate
    if not path.exists():
        raise SampleError(f"{path}: no such folder (--model)")
    raise SampleError(f"{path}: not a model: no ladder.json here or in {path}/export (--model takes an export "
                      "folder or a run folder of `train launch`)")


def load(folder: Path, device: str):
    """(model, tokenizer, ladder settings) from an export folder; a clear SampleError if it is broken."""
    from transformers import AutoTokenizer

    from model.build import auto_class

    settings = json.loads((folder / "ladder.json").read_text(encoding="utf-8"))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = auto_class(settings.get("causal", False)).from_pretrained(str(folder)).to(device).eval()
        if settings.get("causal"):
            tokenizer.padding_side = "left"  # a decoder-only model continues from the right end of its prompt
    except Exception as e:  # transformers and safetensors raise many kinds for a damaged folder
        raise SampleError(f"{folder}: cannot load the model ({type(e).__name__}: {e})") from e
    return model, tokenizer, settings
