"""`datagen show DIR`: a few ladders, rung by rung, for a person to read."""

from __future__ import annotations

import textwrap

import pyarrow.parquet as pq
from datatrove.io import get_datafolder

from compressors.analysis import word_count
from textladder.files import damaged, read_json


def _clip(text: str, width: int, max_chars: int) -> str:
    text = text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0] + " …"
    return textwrap.indent(textwrap.fill(text.replace("\n", " ⏎ "), width - 6), "      ")


def show(out: str, n: int = 3, variants: int = 2, split: str = "train", width: int = 100, max_chars: int = 600) -> str:
    folder = get_datafolder(out)  # a local folder or an fsspec URL (s3://...)
    shards = folder.list_files(f"data/{split}", glob_pattern="*.parquet") if folder.isdir(f"data/{split}") else []
    if not shards:
        raise FileNotFoundError(f"{out}: no {split} shards under data/{split}/ (is this a datagen build folder?)")
    lines = []
    m = read_json(folder, "manifest.json")
    if m is not None:
        lines.append(
            f"{out}: {m['counts']['chunks']} chunks from {m['counts']['documents']} documents, "
            f"{m['config']['ladder']['levels']} levels, {m['config']['ladder']['variants']} variants"
        )
    else:
        lines.append(f"{out}: build not finished (no manifest.json); showing finished shards")
    with folder.open(shards[0], "rb") as f:
        with damaged(shards[0]):
            rows = pq.ParquetFile(f).read_row_group(0).slice(0, n).to_pylist()
    for row in rows:
        lines.append(f"\n=== {row['id']} ({row['split']}) ===")
        lines.append(f"  rung 0  text ({word_count(row['text'])} words)")
        lines.append(_clip(row["text"], width, max_chars))
        for v, ladder in enumerate(row["ladders"][:variants]):
            lines.append(f"  --- variant {v}{' (best scores)' if v == 0 else ' (sampled)'}")
            for k, (rung, method) in enumerate(zip(ladder, row["methods"]), start=1):
                lines.append(f"  rung {k}  {method} ({word_count(rung)} words)")
                lines.append(_clip(rung, width, max_chars))
    return "\n".join(lines)
