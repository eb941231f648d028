"""`codec pack`, `codec unpack`, `codec bench`: the ladder model as a lossless compressor.

Errors a user can fix (a missing file, a folder that is not a model, another model than the archive's,
a damaged archive) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from codec.container import CodecError
from textladder.commands import reporting


def _file_command(sub, name: str, help: str, source: str) -> argparse.ArgumentParser:
    """A command from one file to another: pack and unpack."""
    p = sub.add_parser(name, help=help)
    p.add_argument(source, type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--force", action="store_true", help="write over an existing output")
    return p


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codec", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    pk = _file_command(sub, "pack", "compress a file into a .tlz archive", "input")
    pk.add_argument("--model", help="an export folder or a run folder (default: the newest run in runs/)")
    pk.add_argument("--no-verify", action="store_true", help="skip decoding each chunk again (twice as fast)")
    pk.add_argument(
        "--threads", type=int, default=1, help="batches coded side by side, each on one torch thread (default 1)"
    )
    pk.add_argument("--batch", type=int, default=32, help="chunks coded per pass (default 32; recorded for unpack)")
    coding = "the model's precision while coding (default fp32; auto: bf16 where native; recorded)"
    pk.add_argument("--precision", default="fp32", choices=["auto", "fp32", "bf16"], help=coding)
    pk.add_argument(
        "--no-brotli",
        action="store_true",
        help="every chunk by the model, even where brotli is smaller (to measure it)",
    )
    pk.add_argument("--json", action="store_true", help="print the measured sizes and ideal bits as JSON")
    lossy = "lossy: store rung RUNG of each chunk's ladder and the index of the best of --candidates expansions (chrF)"
    pk.add_argument("--lossy", type=int, metavar="RUNG", help=lossy)
    pk.add_argument("--candidates", type=int, default=4, help="expansions drawn per chunk with --lossy (default 4)")
    pk.add_argument(
        "--online",
        action="store_true",
        help="NNCP style: pack and unpack take the same training "
        "step on each chunk after coding it (same machine and software needed to unpack)",
    )
    pk.add_argument("--online-lr", type=float, default=3e-4, help="Adam step size of --online (default 3e-4)")
    up = _file_command(sub, "unpack", "restore the original bytes of a .tlz archive", "archive")
    up.add_argument("--model", help="the model it was packed with (default: the one named in the archive)")
    up.add_argument("--threads", type=int, help="batches decoded side by side (default: as packed; same bytes for any)")
    bn = sub.add_parser("bench", help="bits per byte against gzip, bzip2, xz, zstd, brotli and PPMd")
    bn.add_argument("--input", nargs="*", type=Path, help="files (default: the val documents of --ladders)")
    bn.add_argument("--models", nargs="*", default=None, help="export or run folders (default: every runs/*/export)")
    bn.add_argument("--ladders", type=Path, default=Path("ladders/default-L4"), help="whose val split to use")
    bn.add_argument("--max-bytes", type=int, default=16384, help="cut the default input to this many bytes")
    bn.add_argument("--out", type=Path, default=Path("bench/codec.json"), help="the measurements as JSON")
    bn.add_argument("--append", action="store_true", help="keep --out's codec rows of other models (same input)")
    bn.add_argument("--online", nargs="*", default=[], help="models to measure with --online as well")
    return p


def _pack(args) -> None:
    from codec.coder import CoderSettings
    from codec.lossy import LossySettings
    from codec.online import OnlineSettings
    from codec.pack import pack
    from model.export import resolve
    from model.precision import resolve as resolve_precision

    for flag, value in (("--threads", args.threads), ("--batch", args.batch)):
        if value < 1:
            raise CodecError(f"{flag} {value}: at least 1")
    folder = resolve(args.model)
    lossy = LossySettings(args.lossy, args.candidates) if args.lossy is not None else None
    if args.online and lossy:
        raise CodecError("--online and --lossy do not go together: --online codes losslessly")
    online = OnlineSettings(lr=args.online_lr) if args.online else None
    precision, _ = resolve_precision(args.precision, "cpu")
    settings = CoderSettings(
        threads=args.threads,
        verify=not args.no_verify,
        brotli=not args.no_brotli,
        batch=args.batch,
        precision=precision,
    )
    stats = pack(args.input, args.output, folder, settings, lossy, online, force=args.force)
    rate = 8 * stats.archive_bytes / max(stats.input_bytes, 1)
    print(
        f"{args.input} → {args.output}: {stats.input_bytes} → {stats.archive_bytes} bytes ({rate:.3f} bits/byte), "
        f"{stats.chunks} chunks, fallback {dict(stats.fallbacks) or 0}, "
        f"{stats.input_bytes / max(stats.seconds, 1e-9):.0f} bytes/s, model {folder}"
        + (f", mean chrF {sum(stats.chrf) / max(len(stats.chrf), 1):.1f}" if stats.chrf else ""),
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps({k: v for k, v in stats.__dict__.items() if k != "per_chunk"}))


def _unpack(args) -> None:
    from codec.pack import unpack
    from model.export import resolve

    if args.threads is not None and args.threads < 1:
        raise CodecError(f"--threads {args.threads}: at least 1")
    folder = resolve(args.model) if args.model else None
    seconds = unpack(args.archive, args.output, folder, args.threads, force=args.force)
    print(f"{args.archive} → {args.output} ({seconds:.1f} s)", file=sys.stderr)


def _bench(args) -> None:
    from codec.bench import run

    run(args.input, args.models, args.ladders, args.max_bytes, args.out, args.append, args.online)


def main(argv: list[str] | None = None) -> int:
    from model.export import ModelError

    args = _parser().parse_args(argv)
    command = {"pack": _pack, "unpack": _unpack, "bench": _bench}[args.command]
    return reporting(f"codec {args.command}", (CodecError, ModelError), lambda: command(args))


if __name__ == "__main__":
    sys.exit(main())
