"""How a text is cut into model chunks so that the original bytes can be rebuilt exactly.

`compressors.analysis.chunks` (what datagen cuts documents with) normalizes whitespace: runs collapse to a
space, paragraphs are separated by one blank line, and a cut inside a long sentence may add a space.
It keeps every other character in order. So the text is rebuilt from the chunks' non-space characters
plus a *patch*: the whitespace runs of the original that differ from those of the chunks joined by
`SEPARATOR`, keyed by how many non-space characters precede them. Clean text gives a near-empty patch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compressors import analysis

SEPARATOR = "\n\n"  # chunks are joined by a blank line: the usual paragraph break costs no patch entry
SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Layout:
    chunks: list[str]  # what the model codes
    patch: list[tuple[int, str]]  # (non-space characters before, the original whitespace run there; "" for none)
    text: str = ""  # the whole text (pack only): what the ladders' "topic" scorer is steered by, as in datagen


def spaces(text: str) -> tuple[str, dict[int, str]]:
    """(the text without whitespace, {non-space characters before a run: the run})."""
    runs, before, last = {}, 0, 0
    for m in SPACE.finditer(text):
        before += m.start() - last
        runs[before] = m.group()
        last = m.end()
    return SPACE.sub("", text), runs


def cut(text: str, max_words: int) -> Layout | None:
    """The chunks of `text` and the patch that rebuilds it from them; None if they lost a character."""
    chunks = analysis.chunks(text, max_words)
    solid, original = spaces(text)
    joined_solid, joined = spaces(SEPARATOR.join(chunks))
    if joined_solid != solid:
        return None
    keys = sorted(set(original) | set(joined))
    patch = [(k, original.get(k, "")) for k in keys if original.get(k, "") != joined.get(k, "")]
    layout = Layout(chunks, patch, text)
    return layout if rebuild(layout) == text else None


def rebuild(layout: Layout) -> str:
    """The original text from the chunks and the patch."""
    solid, runs = spaces(SEPARATOR.join(layout.chunks))
    for key, run in layout.patch:
        runs[key] = run
    out, prev = [], 0
    for key in sorted(runs):
        out += [solid[prev:key], runs[key]]
        prev = key
    out.append(solid[prev:])
    return "".join(out)
