"""The datatrove steps after the reader: ladder every chunk of a document, write Parquet shards.

Row schema (SCHEMA_VERSION 1), one row per chunk:
  id       string               unique chunk id, "<doc_id>#<chunk>"
  doc_id   string               the document's id
  chunk    int32                index of the chunk in its document
  split    string               "train" or "val", by a hash of doc_id
  text     string               rung 0, stored once
  ladders  list<list<string>>   K variants, each the L rungs 1..L
  methods  list<string>         L names: the compressor that made each rung
"""

from __future__ import annotations

import os

import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.parquet import ParquetWriter

from compressors import CannotCompress, LadderConfig, analysis, build
from compressors.ladder import stable_hash
from textladder.hold import hold

SCHEMA_VERSION = 1
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("doc_id", pa.string()),
        ("chunk", pa.int32()),
        ("split", pa.string()),
        ("text", pa.string()),
        ("ladders", pa.list_(pa.list_(pa.string()))),
        ("methods", pa.list_(pa.string())),
    ],
    metadata={"textladder.schema_version": str(SCHEMA_VERSION)},
)


def split_of(doc_id: str, val_fraction: float) -> str:
    """'val' for a fixed share of documents chosen by hash, so a document's chunks never straddle splits."""
    return "val" if stable_hash(doc_id, salt="split") / 2**64 < val_fraction else "train"


class LadderStep(PipelineStep):
    """Cuts each document into chunks and yields one Document per chunk that gets a ladder.

    Chunks that cannot get one are counted under `skipped/<reason>`.
    """

    name = "🪜 ladders"
    type = "🔨 - TRANSFORM"

    def __init__(self, ladder: LadderConfig, max_words: int, val_fraction: float, bar_slots: int = 1):
        super().__init__()
        self.ladder, self.max_words, self.val_fraction = ladder, max_words, val_fraction
        self.bar_slots = bar_slots  # tasks running at once: one progress bar line each

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from tqdm import tqdm

        bar = tqdm(
            data,
            desc=f"task {rank}/{world_size}",
            unit=" docs",
            position=rank % self.bar_slots,
            leave=False,
            dynamic_ncols=True,
            disable=None,
        )
        yield from self._ladders(bar)

    def _ladders(self, docs) -> DocumentsPipeline:
        for doc in docs:
            split = split_of(doc.id, self.val_fraction)
            with self.track_time():  # chunking reads the sentences that build() then takes from its caches
                pieces = analysis.chunks(doc.text, self.max_words) or [doc.text]
            kept = 0
            for i, chunk in enumerate(pieces):
                with self.track_time():
                    try:
                        ladder = build(chunk, self.ladder, doc.id, i, doc.text, doc.metadata.get("title", ""))
                    except CannotCompress as e:
                        self.stat_update(f"skipped/{e.reason}")
                        continue
                kept += 1
                self.stat_update("chunks", f"rows/{split}")
                yield Document(
                    text=chunk,
                    id=f"{doc.id}#{i}",
                    metadata={
                        "doc_id": doc.id,
                        "chunk": i,
                        "split": split,
                        "ladders": ladder.variants,
                        "methods": list(ladder.methods),
                    },
                )
            if not kept:
                self.stat_update("documents_without_ladder")


def _row(writer, doc: Document) -> dict:
    return {"id": doc.id, "text": doc.text, **doc.metadata}


class ShardWriter(ParquetWriter):
    """zstd Parquet shards `data/<split>/<rank>.parquet` that appear only once complete.

    A task writes under `.partial/` and moves its files into `data/` as it closes, so a task killed at
    any moment leaves no partial shard in `data/`, and its rerun overwrites what it left in `.partial/`.
    """

    name = "📒 ladder shards"

    def __init__(self, out_dir: str):
        super().__init__(
            os.path.join(out_dir, ".partial"),
            output_filename="${split}/${rank}.parquet",
            compression="zstd",
            adapter=_row,
            schema=SCHEMA,
            max_file_size=-1,
            use_content_defined_chunking=False,
        )
        self.final = get_datafolder(os.path.join(out_dir, "data"))

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from super().run(data, rank, world_size)
        hold(f"datagen:written:{rank}")

    def close(self):
        written = sorted(self.output_mg.get_open_files())  # this task's shards, one per split
        super().close()
        for name in written:
            self.final.makedirs(os.path.dirname(name), exist_ok=True)
            self.output_folder.fs.mv(self.output_folder.resolve_paths(name), self.final.resolve_paths(name))
