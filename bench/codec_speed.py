"""Codec speed and size: pack and unpack bytes/s of the model code, batched and one chunk at a time,
side by side with brotli -q 11 and PPMd on the same text, per source of held-out text.

Inputs: the leading paragraphs of the `val` documents of `--ladders` (never trained on), one input per
source of the default corpus, and text off the training domain (the GPL-3 licence shipped with Debian,
`--off-domain FILE` for another). For each: the archive's bits/byte (what `codec pack` writes, header
and per-chunk choice of model or brotli included), the model's ideal code length over the chunks it
could code, and pack/unpack B/s at `--batch` chunks a pass against `--batch 1` (the coder before
batching) in the same process; `--threads` batches are coded side by side, each on one torch thread.
Each pack and unpack loads the model, as the command does; the process's one-time start (importing
torch, transformers and torch's deterministic-algorithms machinery, about 4 s here) is paid before the
timing by a warm-up round trip of the first input's first KB, so it falls on neither side.
Usage: python bench/codec_speed.py [--model runs/cpu-demo] [--bytes 8192] [--threads 2] [--forward hf]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from codec.bench import CLASSIC, held_out_documents, held_out_text
from codec.coder import FORWARDS, CoderSettings
from codec.pack import pack, unpack
from model.export import resolve
from model.precision import resolve as resolve_precision

OFF_DOMAIN = Path("/usr/share/common-licenses/GPL-3")


def inputs(ladders: Path, size: int, off_domain: Path) -> dict[str, bytes]:
    out = {s: held_out_text(ladders, size, [s]).encode() for s in held_out_documents(ladders)}
    if off_domain.exists():
        out[f"off-domain ({off_domain.name})"] = off_domain.read_bytes()[:size]
    return out


def timed(fn) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def model_code(data: bytes, folder: Path, work: Path, batch: int, args) -> dict:
    """Pack (with its verification pass off, as unpack checks the round trip here) and unpack."""
    src, packed, out = work / "in", work / f"in-{batch}.tlz", work / f"out-{batch}"
    src.write_bytes(data)
    settings = CoderSettings(
        threads=args.threads, verify=False, batch=batch, precision=args.precision, forward=args.forward
    )
    stats, pack_s = timed(lambda: pack(src, packed, folder, settings, force=True))
    _, unpack_s = timed(lambda: unpack(packed, out, threads=args.threads, force=True))
    assert out.read_bytes() == data, "the round trip differs"
    return {
        "bpb": 8 * stats.archive_bytes / len(data),
        "ideal": stats.candidate_ideal_bits / max(stats.candidate_bytes, 1),
        "model_chunks": stats.chunks - sum(stats.fallbacks.values()),
        "chunks": stats.chunks,
        "pack": len(data) / pack_s,
        "unpack": len(data) / unpack_s,
    }


def classic(data: bytes, name: str) -> dict:
    packed, seconds = timed(lambda: CLASSIC[name](data))
    return {"bpb": 8 * len(packed) / len(data), "pack": len(data) / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="runs/cpu-demo")
    ap.add_argument("--ladders", type=Path, default=Path("ladders/default-L4"))
    ap.add_argument("--bytes", type=int, default=8192, help="bytes of each input")
    ap.add_argument("--batch", type=int, default=CoderSettings.batch)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="fp32", help="auto, fp32, bf16 (the archive records it)")
    ap.add_argument("--forward", default=CoderSettings.forward, choices=FORWARDS, help="the decoder's forward")
    ap.add_argument("--off-domain", type=Path, default=OFF_DOMAIN)
    args = ap.parse_args()
    folder = resolve(args.model)
    args.precision = resolve_precision(args.precision, "cpu")[0]
    print(f"model {folder}, {args.threads} threads, precision {args.precision}, forward {args.forward}")
    print(
        "| input | bytes | brotli -q 11 bpb | PPMd bpb | archive bpb | model's ideal bpb | model chunks "
        "| pack B/s | unpack B/s | batch 1: pack B/s | unpack B/s | speed-up pack / unpack |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        texts = inputs(args.ladders, args.bytes, args.off_domain)
        model_code(next(iter(texts.values()))[:1024], folder, Path(tmp), args.batch, args)
        for name, data in texts.items():
            b, p = classic(data, "brotli -q 11"), classic(data, "PPMd (order 6)")
            many = model_code(data, folder, Path(tmp), args.batch, args)
            one = model_code(data, folder, Path(tmp), 1, args)
            print(
                f"| {name} | {len(data)} | {b['bpb']:.3f} | {p['bpb']:.3f} | {many['bpb']:.3f} | "
                f"{many['ideal']:.3f} | {many['model_chunks']} of {many['chunks']} | {many['pack']:.0f} | "
                f"{many['unpack']:.0f} | {one['pack']:.0f} | {one['unpack']:.0f} | "
                f"{many['pack'] / one['pack']:.2f}x / {many['unpack'] / one['unpack']:.2f}x |"
            )
            print(
                f"|   (bits/byte batch {args.batch} against 1: archive {many['bpb'] / one['bpb']:.4f}, "
                f"ideal {many['ideal'] / max(one['ideal'], 1e-9):.4f}) |"
            )


if __name__ == "__main__":
    main()
