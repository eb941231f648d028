"""Datagen at scale, measured: does a build read each input byte once, whatever the task count?

1. One big Parquet file (many row groups, short documents) built with --tasks 8 and with --tasks 2,
   both on 2 workers. Before the work plan every task read every row, so 8 tasks read the file 8
   times; now the row groups are dealt out. Pass: time ratio (8 tasks / 2 tasks) <= 1.15, and the
   bytes read summed over tasks within 5% of the file size.
2. Documents per second per core for 256-word chunks (the default --max-words): the documents are
   the default corpus's own 256-word chunks (as `datagen build` cuts them), so each is one chunk; one
   worker, one task, default ladder settings (L=4, K=4). docs/scale.md uses it.

    .venv/bin/python bench/datagen_scale.py                     # both, about 5 minutes on 2 cores
    .venv/bin/python bench/datagen_scale.py --part plan --rows 40000 --repeat 1

Figures of the latest run: bench/README.md ("Datagen at scale").
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from datagen.read import default_corpus  # noqa: E402


def corpus_words() -> list[str]:
    with gzip.open(default_corpus(), "rt", encoding="utf-8") as f:
        return [w for line in f for w in json.loads(line)["text"].split()]


def documents(n: int, words: int) -> list[str]:
    """n documents of `words` words each, consecutive text of the default corpus (wrapping around)."""
    pool = corpus_words()
    return [" ".join(pool[(i * words + j) % len(pool)] for j in range(words)) for i in range(n)]


def build(src: Path, out: Path, *args: str) -> tuple[float, dict]:
    """Wall seconds of the whole `datagen build` command, and its manifest."""
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "datagen"), "build", "--input", str(src), "--out", str(out), "--force", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "manifest.json").read_text())


def part_plan(work: Path, rows: int, row_group: int, repeat: int, ladder: list[str]) -> bool:
    src = work / "big.parquet"
    pq.write_table(
        pa.table({"id": [f"doc{i}" for i in range(rows)], "text": documents(rows, 30)}),
        src,
        row_group_size=row_group,
        compression="zstd",
    )
    size = src.stat().st_size
    print(
        f"input: {src.name}, {rows} rows of 30 words, {pq.ParquetFile(src).num_row_groups} row groups, "
        f"{size / 1e6:.1f} MB"
    )
    best = {}
    for tasks in (8, 2) * repeat:  # interleaved, so a slow moment of a shared machine hits both
        seconds, manifest = build(src, work / f"t{tasks}", "--tasks", str(tasks), "--workers", "2", *ladder)
        read = manifest["input"]
        assert read["rows_read"] == rows, read
        if tasks not in best or seconds < best[tasks][0]:
            best[tasks] = (seconds, read["bytes_read"], manifest["timing"]["documents_per_second"])
    print(f"| tasks | workers | wall s (best of {repeat}) | rows read | bytes read / file size |")
    print("|---|---|---|---|---|")
    for tasks in (2, 8):
        seconds, read_bytes, _ = best[tasks]
        print(f"| {tasks} | 2 | {seconds:.1f} | {rows} | {read_bytes / size:.3f} |")
    ratio = best[8][0] / best[2][0]
    worst_bytes = max(abs(best[t][1] / size - 1) for t in best)
    ok = ratio <= 1.15 and worst_bytes <= 0.05
    print(
        f"time ratio 8 tasks / 2 tasks: {ratio:.3f} (need <= 1.15); bytes read off the file size by at most "
        f"{worst_bytes:.1%} (need <= 5%): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def chunk_documents(n: int) -> list[str]:
    """n of the default corpus's 256-word chunks, spread over the corpus (novels and Wikipedia)."""
    from compressors import analysis

    with gzip.open(default_corpus(), "rt", encoding="utf-8") as f:
        chunks = [c for line in f for c in analysis.chunks(json.loads(line)["text"], 256)]
    return chunks[:: max(1, len(chunks) // n)][:n]


def part_rate(work: Path, docs: int) -> None:
    src = work / "chunks256.jsonl"
    texts = chunk_documents(docs)
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, manifest = build(src, work / "rate", "--tasks", "1", "--workers", "1", "--max-words", "256")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run_s, c = manifest["timing"]["seconds"], manifest["counts"]
    words = sum(len(t.split()) for t in texts) / len(texts)
    out_bytes = sum((work / "rate" / s["path"]).stat().st_size for s in manifest["shards"])
    print(
        f"rate: {c['documents']} documents (256-word chunks, {words:.0f} words on average) -> {c['chunks']} chunks, "
        f"L=4 K=4, 1 worker: {c['documents'] / run_s:.1f} documents/s per core by the wall clock of the pipeline "
        f"({run_s:.1f} s), {c['documents'] / cpu:.1f} per CPU second of the whole command ({cpu:.1f} s, start-up "
        f"included); output {out_bytes / src.stat().st_size:.2f} bytes of Parquet per byte of input JSONL "
        f"({out_bytes / c['chunks']:.0f} bytes per chunk)"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["plan", "rate", "all"], default="all")
    p.add_argument("--rows", type=int, default=80000, help="rows of the big Parquet file")
    p.add_argument("--row-group", type=int, default=2000, help="rows per row group")
    p.add_argument("--repeat", type=int, default=2, help="runs of each task count; the best is kept")
    p.add_argument("--rate-docs", type=int, default=600, help="256-word documents of the rate part")
    args = p.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # L=2 K=1 keeps laddering light, so the reading that the plan saves weighs in the time
    ladder = ["--levels", "2", "--variants", "1", "--max-words", "64"]
    ok = True
    with tempfile.TemporaryDirectory(prefix="datagen-scale-") as tmp:
        if args.part in ("plan", "all"):
            ok = part_plan(Path(tmp), args.rows, args.row_group, args.repeat, ladder)
        if args.part in ("rate", "all"):
            part_rate(Path(tmp), args.rate_docs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
