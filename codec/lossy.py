"""`--lossy RUNG --candidates N` (LLMPack style): store rung RUNG of each chunk's variant-0 ladder and the
index of the best of N seeded expansions of it (by chrF against the chunk); unpack regenerates that one.

Each candidate is expanded alone (a batch of one) from a torch generator seeded by (chunk, candidate),
so unpack draws exactly the tokens pack drew, on the same machine and software (CPU, fixed threads,
deterministic algorithms). Chunks without a ladder are stored as text. Whitespace between chunks is
not kept: the output is the regenerated chunks separated by blank lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from codec import container
from codec.coder import Unfit, steps_of
from model.export import ExportInfo
from model.task import Task
from sample.decode import SAMPLER

LOSSY = 2  # the side stream's kind for a lossy archive


@dataclass(frozen=True)
class LossySettings:
    rung: int  # the rung stored: 1..levels (a one-shot model: levels only)
    candidates: int  # expansions drawn per chunk; the best by chrF is kept
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    sampler: int = SAMPLER  # what drew the candidates (sample.decode.SAMPLER): unpack must draw the same
    lexicon: str = "all"  # sample.decode.Decoding.lexicon of the draws ("off" in archives before it)

    def check(self, info: ExportInfo) -> None:
        if not Task(info.task).expands:
            raise container.CodecError("--lossy needs a model that expands a rung (a ladder or one-shot model)")
        allowed = sorted(Task(info.task).steps(info.levels))
        if self.rung not in allowed:
            raise container.CodecError(
                f"--lossy {self.rung}: this model expands rung {allowed} (its levels: {info.levels})"
            )
        if self.candidates < 1:
            raise container.CodecError(f"--candidates {self.candidates}: at least 1")


def stored_rung(chunk: str, info: ExportInfo, rung: int, document: str | None = None) -> str:
    """Rung `rung` of the chunk's variant-0 ladder, or Unfit when it has no ladder."""
    _, pairs = steps_of(chunk, info, document)
    return next(p.source for p in pairs if p.step == rung)


def expand_one(model, tok, info: ExportInfo, upper: str, settings: LossySettings, chunk: int, candidate: int) -> str:
    """Candidate `candidate` of chunk `chunk`: rung `settings.rung` expanded to text, seeded, alone in its batch."""
    import torch

    from sample.decode import Decoding
    from sample.expand import step_once

    generator = torch.Generator().manual_seed((settings.seed * 1_000_003 + chunk) * 65_537 + candidate)
    decoding = Decoding(settings.temperature, settings.top_p, lexicon=settings.lexicon)
    rung = upper
    for k in Task(info.task).steps(settings.rung):
        rung = str(step_once(model, tok, info, [rung], k, decoding, 1, generator, words=None)[0])
    return rung


def best_candidate(model, tok, info, chunk_text: str, upper: str, settings: LossySettings, index: int):
    """(index of the best candidate by chrF, its text, its chrF)."""
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    best = (-1.0, 0, "")
    for i in range(settings.candidates):
        text = expand_one(model, tok, info, upper, settings, index, i)
        score = chrf.sentence_score(text, [chunk_text]).score
        if score > best[0]:
            best = (score, i, text)
    return best[1], best[2], best[0]


def pack_side(
    chunks: list[str], model, tok, info, settings: LossySettings, side: bytearray, bar, document: str | None = None
) -> list[float]:
    """Write the lossy side stream; the chrF of each chunk's kept expansion (100 for a stored chunk)."""
    container.put_uint(side, LOSSY)
    container.put_uint(side, len(chunks))
    scores = []
    for i, chunk in enumerate(chunks):
        try:
            upper = stored_rung(chunk, info, settings.rung, document)
        except Unfit:
            container.put_uint(side, container.FALLBACK)
            container.put_bytes(side, chunk.encode("utf-8"))
            scores.append(100.0)
        else:
            index, _, score = best_candidate(model, tok, info, chunk, upper, settings, i)
            container.put_uint(side, container.MODEL)
            container.put_bytes(side, upper.encode("utf-8"))
            container.put_uint(side, index)
            scores.append(score)
        bar.update(len(chunk.encode("utf-8")))
    return scores


def recorded(settings: dict, archive) -> LossySettings:
    """The settings a lossy archive records; a warning where it was drawn by another sampler than this
    code's: its text is then other expansions of the same stored rungs, not the candidates pack chose."""
    import sys

    found = LossySettings(**{"sampler": 1, "lexicon": "off", **settings})  # what archives before them drew with
    if found.sampler != SAMPLER:
        print(
            f"codec: warning: {archive} was packed with sampler {found.sampler}, this code draws with "
            f"{SAMPLER}: unpack writes other expansions of its stored rungs than the ones pack chose",
            file=sys.stderr,
        )
    return found


def unpack_side(reader: container.Reader, model, tok, info, settings: LossySettings, bar) -> str:
    out = []
    for i in range(reader.uint()):
        if reader.uint() == container.FALLBACK:
            out.append(reader.bytes().decode("utf-8"))
        else:
            upper = reader.bytes().decode("utf-8")
            out.append(expand_one(model, tok, info, upper, settings, i, reader.uint()))
        bar.update(len(out[-1].encode("utf-8")))
    return "\n\n".join(out)
