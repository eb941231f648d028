"""What an export folder is: weights and tokenizer for plain transformers, and `ladder.json`, the typed
description (`ExportInfo`) of how the model expands a ladder. `load()` is the one way to open one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

from model import lexicon
from model.format import Objective, StepFormat
from model.markers import marker
from model.task import Task

FORMAT_VERSION = 3  # 1: no objective (every model rewrote); 2: objective and sentinels; 3: length tokens


class ModelError(ValueError):
    pass


@dataclass(frozen=True)
class ExportInfo:
    levels: int  # L: steps 1..L
    objective: Objective  # infill or rewrite (model.format)
    task: Literal["ladder", "oneshot", "text"]  # every step; top rung to text at once; a judge of text
    causal: bool  # a decoder-only model
    max_source_tokens: int  # encoder input (prompt) tokens it was trained on
    max_target_tokens: int  # target tokens it was trained on
    max_new_tokens_by_step: dict[str, int]  # per step, the default length limit of sampling
    markers: dict[str, str] = field(default_factory=dict)  # per step, its marker token
    ladder: dict = field(default_factory=dict)  # the ladder settings of the build it was trained on
    max_words: int = 0  # chunk size of that build
    data: str = ""  # that build's folder
    format_version: int = FORMAT_VERSION
    lengths: bool = False  # targets start with a length token (format 3)
    text_words: int = 0  # median words of the texts (rung 0) it was trained on: sampling's default length
    # the words of its training text (model.lexicon: the export's lexicon.txt, which `load` reads); None: none
    words: frozenset[str] | None = field(default=None, compare=False, repr=False)

    @property
    def step_format(self) -> StepFormat:
        return StepFormat(self.objective, self.causal, self.max_source_tokens, self.max_target_tokens, self.lengths)

    def limit(self, step: int) -> int:
        return self.max_new_tokens_by_step[str(step)]

    @classmethod
    def make(
        cls, levels: int, fmt: StepFormat, task: str, limits: dict[str, int], build: dict, text_words: int
    ) -> ExportInfo:
        return cls(
            levels,
            fmt.objective,
            task,
            fmt.causal,
            fmt.max_source_tokens,
            fmt.max_target_tokens,
            limits,
            {str(k): marker(k) for k in range(1, levels + 1)},
            build["ladder"],
            build["max_words"],
            build["out"],
            lengths=fmt.lengths,
            text_words=text_words,
        )

    def write(self, folder: Path) -> None:
        described = {k: v for k, v in asdict(replace(self, words=None)).items() if k != "words"}
        (folder / "ladder.json").write_text(json.dumps(described, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> ExportInfo:
        """ladder.json of `folder`; a version-1 export (before objectives) reads as `rewrite`."""
        path = folder / "ladder.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            raw.setdefault("format_version", 1)
            if raw["format_version"] == 1:
                raw.setdefault("objective", "rewrite")
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in raw.items() if k in known})
        except (OSError, ValueError, TypeError) as e:
            raise ModelError(f"{path}: not a valid export description ({type(e).__name__}: {e})") from e


def _expanders(runs: Path) -> tuple[list[Path], list[str]]:
    """The export folders under runs/*/export that expand seeds (judges, task `text`, expand nothing),
    and the ladder.json files that cannot be read: a broken run is passed over, not fatal."""
    found, broken = [], []
    for path in runs.glob("*/export/ladder.json"):
        try:
            info = ExportInfo.read(path.parent)
        except ModelError:
            broken.append(str(path))
            continue
        if Task(info.task).expands:
            found.append(path.parent)
    return found, broken


def resolve(model: str | None, runs: Path = Path("runs")) -> Path:
    """The export folder to use: `model` itself, `model`/export, or the newest run's export that expands seeds."""
    if model is None:
        exports, broken = _expanders(runs)
        if not exports:
            also = f" ({len(broken)} broken: {', '.join(broken[:3])})" if broken else ""
            raise ModelError(
                f"no trained model in {runs}/{also}: train one with `train launch configs/cpu-demo.yaml` "
                "(after `datagen build --levels 4`), or pass --model DIR"
            )
        return max(exports, key=lambda p: (p / "ladder.json").stat().st_mtime)
    path = Path(model)
    for candidate in (path, path / "export"):
        if (candidate / "ladder.json").exists():
            return candidate
    if not path.exists():
        raise ModelError(f"{path}: no such folder (--model)")
    raise ModelError(
        f"{path}: not a model: no ladder.json here or in {path}/export (--model takes an export "
        "folder or a run folder of `train launch`)"
    )


def load(folder: Path, device: str = "cpu", precision: str = "auto"):
    """(model, tokenizer, ExportInfo) of an export folder, the model in `precision` (model.precision: auto
    is bf16 where `device` computes it natively); a clear ModelError if it is broken."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from model.build import auto_class
    from model.precision import dtype
    from model.precision import resolve as resolve_precision

    hf_logging.disable_progress_bar()  # a progress bar per load, in every command's output
    info = replace(ExportInfo.read(folder), words=lexicon.read(folder))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        precision = resolve_precision(precision, device)[0]
        model = auto_class(info.causal).from_pretrained(str(folder)).to(device, dtype(precision)).eval()
    except Exception as e:  # transformers and safetensors raise many kinds for a damaged folder
        raise ModelError(f"{folder}: cannot load the model ({type(e).__name__}: {e})") from e
    if info.causal:
        tokenizer.padding_side = "left"  # a decoder-only model continues from the right end of its prompt
    return model, tokenizer, info
