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

import contextlib
import gc
import os
import sys

import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.parquet import ParquetWriter

from compressors import CannotCompress, LadderConfig, build
from compressors import text as T
from compressors.ladder import stable_hash

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


# Chunks between two runs of the collector on its younger generations. A run walks what the caches
# gained since the last (0.15 to 0.2 s on the default corpus) and finds almost nothing (0 to 317
# objects per 1,000 chunks), so it runs rarely: about a percent of a task's time.
COLLECT_EVERY = 20_000


@contextlib.contextmanager
def collect_by_hand():
    """Turn the cyclic garbage collector's automatic runs off while ladders are made; the loop runs it
    on its younger generations every COLLECT_EVERY chunks instead, and on exit automatic runs resume.

    Ladders allocate millions of short-lived tuples and lists and hold a few hundred thousand cached
    ones (the compressors' per-text analyses); at the default thresholds the collector took about a
    sixth of the ladder time walking them, and ladder code makes no reference cycles for it to find.
    Collecting by hand keeps memory bounded should some library make cycles. What is alive when a
    task starts (the word tables) is frozen: never walked, and never written to, so forked workers
    keep sharing its pages. What is alive when it ends (the caches) is frozen too: left in the young
    generation, its first automatic run walked a million objects, and the full run at interpreter exit
    all of them again, 1.5 to 2 s of a 15 s build. Frozen objects are still freed when no longer
    referenced; only a cycle made since the last run by hand would wait for gc.unfreeze()."""
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


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

        bar = tqdm(data, desc=f"task {rank}/{world_size}", unit=" docs", position=rank % self.bar_slots,
                   leave=False, dynamic_ncols=True, disable=None)
        with collect_by_hand():
            yield from self._ladders(bar)

    def _ladders(self, docs) -> DocumentsPipeline:
        seen = 0
        for doc in docs:
            split = split_of(doc.id, self.val_fraction)
            with self.track_time():  # chunking reads the sentences that build() then takes from its caches
                pieces = T.chunks(doc.text, self.max_words) or [doc.text]
            kept = 0
            for i, chunk in enumerate(pieces):
                seen += 1
                if seen % COLLECT_EVERY == 0:
                    gc.collect(1)  # younger generations: what the caches gained since the last run
                with self.track_time():
                    try:
                        ladder = build(chunk, self.ladder, doc.id, i, doc.text)
                    except CannotCompress as e:
                        self.stat_update(f"skipped/{e.reason}")
                        continue
                kept += 1
                self.stat_update("chunks", f"rows/{split}")
                yield Document(
                    text=chunk,
                    id=f"{doc.id}#{i}",
                    metadata={"doc_id": doc.id, "chunk": i, "split": split,
                              "ladders": ladder.variants, "methods": list(ladder.methods)},
                )
            if not kept:
                self.stat_update("documents_without_ladder")


def _row(writer, doc: Document) -> dict:
    return {"id": doc.id, "text": doc.text, **doc.metadata}


class _NoPandas:
    """An import finder that refuses pandas: see _arrow_without_pandas."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"{name} is refused while pyarrow first looks for it", name=name)
        return None


def _arrow_without_pandas() -> None:
    """Have pyarrow take pandas as absent for its "is this row a pandas object?" checks.

    On its first conversion of Python rows pyarrow imports pandas only to ask that (0.2 s of every build
    or task). One conversion here, with the import refused, records "no pandas" for those checks; a call
    that needs pandas (Table.to_pandas, from_pandas) still imports it then. Rows here are dicts of str
    and lists, never pandas objects, so nothing converts differently. Called as every task's writer
    starts, whatever the engine: refusing the import costs nothing, so no process needs it done before."""
    if "pandas" in sys.modules or _NoPandas in sys.meta_path:
        return  # already imported: the checks are cheap; or a call is under way
    sys.meta_path.insert(0, _NoPandas)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(_NoPandas)


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
        self.written: set[str] = set()
        self._names: dict[tuple[str, int | str], str] = {}

    def _get_output_filename(self, document: Document, rank: int | str = 0, **kwargs) -> str:
        """The template's name for the row's split and the task's rank, remembered: datatrove asks three
        times a row, and filling the template copied every row's metadata each time."""
        if kwargs:
            return super()._get_output_filename(document, rank, **kwargs)
        key = (document.metadata["split"], rank)
        if key not in self._names:
            self._names[key] = super()._get_output_filename(document, rank)
        return self._names[key]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        _arrow_without_pandas()
        yield from super().run(data, rank, world_size)

    def write(self, document: Document, rank: int = 0, **kwargs):
        self.written.add(self._get_output_filename(document, rank, **kwargs))
        super().write(document, rank, **kwargs)

    def close(self):
        super().close()
        for name in sorted(self.written):
            self.final.makedirs(os.path.dirname(name), exist_ok=True)
            self.output_folder.fs.mv(self.output_folder.resolve_paths(name), self.final.resolve_paths(name))
        self.written.clear()
