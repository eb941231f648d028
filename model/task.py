"""What a model learns from a chunk and its ladders: the one place that says, per task, which steps exist
and how a text and its ladders become pairs.

- `ladder`: every step of every variant, rung k -> rung k - 1 (k = L..1): the ladder model.
- `oneshot`: the top rung -> the text in one step (step L): the one-shot baselines, encoder-decoder or
  decoder-only (the autoregressive model prompted with the seed).
- `text`: the text alone (step 0, no rung above): a language model of text, the judge of evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

TASKS = ("ladder", "oneshot", "text")


@dataclass(frozen=True)
class Pair:
    step: int  # k: expand rung k into rung k - 1 (the top rung's index for oneshot, 0 for text)
    source: str  # rung k ("" for text)
    target: str  # the rung the step writes


@dataclass(frozen=True)
class Task:
    name: str  # one of TASKS

    def __post_init__(self):
        if self.name not in TASKS:
            raise ValueError(f"unknown task {self.name!r} (one of {', '.join(TASKS)})")

    @property
    def expands(self) -> bool:
        """Whether the model takes a seed (a rung above) at all."""
        return self.name != "text"

    def steps(self, top: int) -> list[int]:
        """The steps a chain from rung `top` takes, first to last."""
        return {"ladder": list(range(top, 0, -1)), "oneshot": [top], "text": [0]}[self.name]

    def below(self, step: int) -> int:
        """The rung a step writes."""
        return step - 1 if self.name == "ladder" else 0

    def rungs(self, top: int) -> list[int]:
        """The rung numbers of a chain from rung `top`: the seed's, then each step's."""
        return [top] + [self.below(k) for k in self.steps(top)]

    def chain(self, rungs: list[str]) -> list[Pair]:
        """The pairs along one ladder `rungs` = [text, rung 1, …, rung L], first step first."""
        top = len(rungs) - 1
        return [Pair(k, rungs[k] if self.expands else "", rungs[self.below(k)]) for k in self.steps(top)]

    def pairs(self, text: str, ladders: list[list[str]]) -> Iterator[Pair]:
        """The training pairs of one chunk: per variant, steps 1..L in that order (ladder), or its one pair."""
        if not self.expands:
            yield Pair(0, "", text)
            return
        for ladder in ladders:
            yield from reversed(self.chain([text, *ladder]))

    def pairs_per_row(self, variants: int, levels: int) -> int:
        return {"ladder": variants * levels, "oneshot": variants, "text": 1}[self.name]
