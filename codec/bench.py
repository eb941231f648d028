"""`codec bench`: bits per byte of `codec` with each model against the classic compressors.

Input: files given with --input, else held-out text: the `val` documents of a `datagen build` (never
trained on), their leading paragraphs taken from each source in turn (Austen, Jargon File, Wikipedia) up to
--max-bytes.
Every compressor is measured on the whole file and chunk by chunk (the chunks codec cuts); codec's
real size is set next to the model's ideal -log2 p (coder overhead), split by rung, and with the
model's own bytes added (the "adjusted" rate of Delétang et al. 2023).
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codec.coder import CoderSettings
from codec.container import CodecError
from compressors import analysis

PER_DOC_BYTES = 4096  # leading bytes of each held-out document: several documents in a small input


def _zstd(b: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=19).compress(b)


def _brotli(b: bytes) -> bytes:
    import brotli

    return brotli.compress(b, quality=11)


def _ppmd(b: bytes) -> bytes:
    import pyppmd

    return pyppmd.compress(b, max_order=6, mem_size=16 << 20)  # PPMd var. H, order 6 (7-Zip's default)


CLASSIC = {
    "gzip -9": lambda b: gzip.compress(b, compresslevel=9, mtime=0),
    "bzip2 -9": lambda b: bz2.compress(b, 9),
    "xz -9e": lambda b: lzma.compress(b, preset=9 | lzma.PRESET_EXTREME),
    "zstd -19": _zstd,
    "brotli -q 11": _brotli,
    "PPMd (order 6)": _ppmd,
}


@dataclass
class Row:
    name: str
    whole_bpb: float  # the whole file, archive as written (header included)
    chunk_bpb: float  # chunk by chunk, each compressed alone
    extra: dict = field(default_factory=dict)


def held_out_documents(ladders: Path) -> dict[str, list[dict]]:
    """The default corpus's documents in the val split of `ladders` (never trained on), by source (the id's
    first part: austen, wikipedia, jargon), each list in id order."""
    import gzip as gz

    from datagen.read import default_corpus
    from model.pairs import DataError, by_source, parquet_file, shards

    try:
        files = shards(ladders, "val")
    except DataError:
        raise CodecError(
            f"{ladders}: no val shards (--ladders); run `datagen build --levels 4` or pass --input"
        ) from None
    ids = {r["doc_id"] for f in files for r in parquet_file(f).read(columns=["doc_id"]).to_pylist()}
    with gz.open(default_corpus(), "rt", encoding="utf-8") as f:
        docs = sorted((d for d in map(json.loads, f) if d["id"] in ids), key=lambda d: d["id"])
    return by_source(docs, "id")


def held_out_text(ladders: Path, max_bytes: int, sources: list[str] | None = None) -> str:
    """Leading paragraphs of the val documents of `ladders`, one source after another in turn (only
    `sources` where given)."""
    from model.pairs import in_turn

    documents = held_out_documents(ladders)
    order = in_turn([documents.get(s, []) for s in sources] if sources else list(documents.values()))
    parts, size = [], 0
    for doc in order:
        head = _leading_paragraphs(doc["text"], min(PER_DOC_BYTES, max_bytes - size))
        if head:
            parts.append(head)
            size += len(head.encode()) + 2
        if size >= max_bytes - 200:
            break
    return "\n\n".join(parts) + "\n"


def _leading_paragraphs(text: str, budget: int) -> str:
    out, size = [], 0
    for p in analysis.PARAGRAPH.split(text.strip()):
        if size + len(p.encode()) + 2 > budget:
            break
        out.append(p)
        size += len(p.encode()) + 2
    return "\n\n".join(out)


def classic_rows(data: bytes, chunks: list[bytes]) -> list[Row]:
    n = len(data)
    return [Row(name, 8 * len(f(data)) / n, 8 * sum(len(f(c)) for c in chunks) / n) for name, f in CLASSIC.items()]


def codec_row(data: bytes, folder: Path, work: Path, online: bool = False) -> Row:
    """Pack (without verify: unpack checks the round trip here) and unpack; sizes, ideal bits, speeds."""
    from codec.online import OnlineSettings
    from codec.pack import pack, unpack

    src, packed, out = work / "in", work / "in.tlz", work / "out"
    src.write_bytes(data)
    stats = pack(src, packed, folder, CoderSettings(verify=False), online=OnlineSettings() if online else None)
    seconds = unpack(packed, out)
    if out.read_bytes() != data:
        raise CodecError(f"{folder}: the round trip of the bench input differs")
    n = len(data)
    # a chunk alone: its range code, top word and two bytes of lengths; a chunk kept as text, brotli of it
    per_chunk = sum(c["coded"] + c["top"] + 2 if c["model"] else c["fallback_brotli"] for c in stats.per_chunk)
    weights = (folder / "model.safetensors").stat().st_size
    extra = {
        "model": str(folder),
        "ideal_bpb_model_chunks": stats.ideal_bits / max(stats.model_chunk_bytes, 1),
        "coded_bpb_model_chunks": 8 * stats.coded_bytes / max(stats.model_chunk_bytes, 1),
        "coder_overhead": 8 * stats.coded_bytes / max(stats.ideal_bits, 1e-9) - 1,
        "by_rung_bpb": {
            "top word": 8 * stats.top_word_bytes / n,
            **{f"step {k}": b / n for k, b in sorted(stats.ideal_by_step.items(), reverse=True)},
        },
        "header_bytes": stats.header_bytes,
        "side_bytes": stats.side_bytes,
        "coded_bytes": stats.coded_bytes,
        "chunks": stats.chunks,
        "fallbacks": dict(stats.fallbacks),
        "adjusted_bpb": 8 * (stats.archive_bytes + weights) / n,
        "weights_bytes": weights,
        "pack_bytes_per_s": n / stats.seconds,
        "unpack_bytes_per_s": n / seconds,
    }
    extra["ideal_bpb_by_chunk"] = [c["ideal_bits"] / c["bytes"] for c in stats.per_chunk if c["model"]]
    # aligned with the chunks (None where the chunk fell back), so models compare on the chunks all coded
    extra["ideal_bits_by_chunk"] = [c.get("ideal_bits") for c in stats.per_chunk]
    extra["bytes_by_chunk"] = [c["bytes"] for c in stats.per_chunk]
    name = f"codec {folder.parent.name}" + (" --online" if online else "")
    return Row(name, 8 * stats.archive_bytes / n, 8 * per_chunk / n, extra)


def _previous(out: Path, source: list[str], size: int) -> list[dict]:
    """Codec rows of an earlier run on the same input in `out` (models that finished training later add rows)."""
    try:
        old = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if old.get("input") != source or old.get("bytes") != size:
        return []
    return [r for r in old["rows"] if r["extra"]]


def run(
    inputs: list[Path] | None,
    models: list[str] | None,
    ladders: Path,
    max_bytes: int,
    out: Path,
    append: bool = False,
    online: list[str] | None = None,
) -> list[Row]:
    from model.export import resolve

    if inputs:
        data = b"".join(p.read_bytes() for p in inputs)
        source = [str(p) for p in inputs]
    else:
        data = held_out_text(ladders, max_bytes).encode()
        source = [f"{ladders} val documents, {max_bytes} bytes at most"]
    folders = [resolve(m) for m in models] if models is not None else sorted(Path("runs").glob("*/export"))
    info_words = 256
    chunks = [c.encode() for c in analysis.chunks(data.decode("utf-8", "replace"), info_words)]
    rows = classic_rows(data, chunks)
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            rows.append(codec_row(data, folder, Path(tmp)))
        for folder in [resolve(m) for m in online or []]:
            rows.append(codec_row(data, folder, Path(tmp), online=True))
    new = [asdict(r) for r in rows]
    kept = [r for r in _previous(out, source, len(data)) if r["name"] not in {n["name"] for n in new}] if append else []
    report = {
        "input": source,
        "bytes": len(data),
        "chunks": len(chunks),
        "rows": new + kept,
        "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(table(report))
    return rows


def table(report: dict) -> str:
    lines = [
        f"input: {', '.join(report['input'])}: {report['bytes']} bytes, {report['chunks']} chunks",
        "",
        "| compressor | bits/byte, whole file | bits/byte, per chunk | model's ideal (model chunks) | coder overhead "
        "| adjusted (+ weights) | pack B/s | unpack B/s | chunks by fallback |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        e = r["extra"]
        if e:
            lines.append(
                f"| {r['name']} | {r['whole_bpb']:.3f} | {r['chunk_bpb']:.3f} | {e['ideal_bpb_model_chunks']:.3f} | "
                f"{100 * e['coder_overhead']:.2f}% | {e['adjusted_bpb']:.1f} | {e['pack_bytes_per_s']:.0f} | "
                f"{e['unpack_bytes_per_s']:.0f} | {sum(e['fallbacks'].values())} of {e['chunks']} |"
            )
        else:
            lines.append(f"| {r['name']} | {r['whole_bpb']:.3f} | {r['chunk_bpb']:.3f} | | | | | | |")
    lines += _common(report["rows"])
    rungs = [r for r in report["rows"] if r["extra"]]
    if rungs:
        keys = list(rungs[0]["extra"]["by_rung_bpb"])
        for r in rungs[1:]:
            keys += [k for k in r["extra"]["by_rung_bpb"] if k not in keys]
        lines += [
            "",
            "bits per byte of the input, by rung (top word: its UTF-8 bytes, before brotli; "
            "step k, writing rung k-1 from rung k: the model's ideal -log2 p):",
            "",
            "| model | " + " | ".join(keys) + " |",
            "|---|" + "---|" * len(keys),
        ]
        for r in rungs:
            b = r["extra"]["by_rung_bpb"]
            lines.append(f"| {r['name']} | " + " | ".join(f"{b[k]:.3f}" if k in b else "" for k in keys) + " |")
    return "\n".join(lines)


def _common(rows: list[dict]) -> list[str]:
    """The models' ideal bits per byte on the chunks every one of them coded (a fallback leaves a chunk out)."""
    coded = [r for r in rows if r["extra"].get("ideal_bits_by_chunk")]
    if len(coded) < 2 or len({len(r["extra"]["ideal_bits_by_chunk"]) for r in coded}) != 1:
        return []
    every = [
        i
        for i in range(len(coded[0]["extra"]["ideal_bits_by_chunk"]))
        if all(r["extra"]["ideal_bits_by_chunk"][i] is not None for r in coded)
    ]
    size = sum(coded[0]["extra"]["bytes_by_chunk"][i] for i in every)
    out = [
        "",
        f"model's ideal bits per byte on the {len(every)} chunks every model coded ({size} bytes): "
        + ", ".join(
            f"{r['name']} {sum(r['extra']['ideal_bits_by_chunk'][i] for i in every) / size:.3f}" for r in coded
        ),
    ]
    return out
