"""`--online` (NNCP style): pack and unpack take the same training step on each batch after coding it.

No weights go into the archive beyond what `--model` already names: both sides start from that model
and, after each batch of chunks the model coded, take one optimizer step on their ladder pairs (the
steps just coded), so the model adapts to the file as it goes. The step runs in eval mode (no dropout, so no
random draws) on CPU with deterministic algorithms and a fixed thread count: the weights stay equal,
bit for bit, on both sides of the same machine and software. Another CPU, thread count or torch
version may round differently and is refused by unpack's final hash check, never silently wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.export import ExportInfo
from model.pairs import Pair


@dataclass(frozen=True)
class OnlineSettings:
    lr: float = 3e-4  # Adam's step size: small, the start is already a trained model
    steps: int = 1  # optimizer steps per coded batch


class Learner:
    """The optimizer both sides keep; `learn` is called with each model-coded batch's pairs, in order."""

    def __init__(self, model, tok, info: ExportInfo, settings: OnlineSettings):
        import torch

        self.model, self.tok, self.info, self.settings = model, tok, info, settings
        self.optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)

    def learn(self, pairs: list[Pair]) -> float:
        """One training step (or `settings.steps`) on a batch's pairs; the last loss in nats per token."""
        from model.format import collate
        from model.loss import forward

        batch = collate(pairs, self.tok, self.info.step_format)
        loss = 0.0
        for _ in range(self.settings.steps):
            self.optimizer.zero_grad(set_to_none=True)
            mean, _ = forward(self.model, batch)
            mean.backward()
            self.optimizer.step()
            loss = float(mean.detach())
        return loss
