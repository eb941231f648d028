"""Command line of the datagen stage."""

from __future__ import annotations

import argparse
import sys

from textladder.commands import reporting
from textladder.config import ConfigError, flag_of, flags, load, parse_override


def _flags() -> dict[str, str]:
    """A flag for every config field with a help; any key is also settable as --set KEY=VALUE or from --config."""
    from datagen.config import BuildConfig

    return flags(BuildConfig, ("ladder",))


def _build_parser(sub) -> None:
    p = sub.add_parser("build", help="compress a corpus into Parquet ladders")
    p.add_argument("--config", metavar="YAML", help="a datagen config file; flags override it")
    from datagen.config import BuildConfig

    for flag, key in _flags().items():
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, **flag_of(BuildConfig, key))
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any config key, e.g. slurm.partition=cpu"
    )
    p.add_argument("--force", action="store_true", help="delete this output's previous build and start over")


def cmd_build(args) -> int:
    from datagen.build import run_build
    from datagen.config import BuildConfig

    overrides = dict(parse_override(item) for item in args.set)
    given = {key: getattr(args, flag) for flag, key in _flags().items()}
    overrides.update({key: value for key, value in given.items() if value is not None})
    cfg = load(BuildConfig, args.config, overrides)
    manifest = run_build(cfg, force=args.force)
    if manifest is None:
        print(f"submitted to Slurm; when the job ends, run the same command again to write {cfg.out_dir}/manifest.json")
        return 0
    c = manifest["counts"]
    skipped = ", ".join(f"{k} {v}" for k, v in manifest["skipped"].items()) or "none"
    print(
        f"{c['chunks']} chunks ({c['rows']['train']} train, {c['rows']['val']} val) from {c['documents']} documents, "
        f"{c['variant_ladders']} variant ladders in {manifest['timing']['seconds']:.1f} s; skipped chunks: {skipped}"
    )
    print(f"ladders: {manifest['config']['out']}")
    print(f"look at some: datagen show {manifest['config']['out']}")
    return 0


def cmd_show(args) -> int:
    from datagen.show import show

    print(show(args.dir, n=args.n, variants=args.variants, split=args.split))
    return 0


def _quiet_interrupt(unraisable) -> None:
    """Ctrl-C reaches the executor's manager finalizers too; what they print is noise next to our one line
    (tests/hostile.py: Ctrl-C during a build says how to resume, no traceback). Anything else prints."""
    if not issubclass(unraisable.exc_type, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def main(argv: list[str] | None = None) -> int:
    sys.unraisablehook = _quiet_interrupt
    parser = argparse.ArgumentParser(prog="datagen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _build_parser(sub)
    s = sub.add_parser("show", help="print a few ladders rung by rung")
    s.add_argument("dir", help="a folder written by datagen build")
    s.add_argument("--n", type=int, default=3, help="chunks to show")
    s.add_argument("--variants", type=int, default=2, help="variants per chunk")
    s.add_argument("--split", default="train", choices=["train", "val"])
    args = parser.parse_args(argv)
    from datagen.build import BuildError
    from datagen.read import InputError
    from textladder.files import DamagedFile

    errors = (ConfigError, InputError, BuildError, FileNotFoundError, DamagedFile)
    try:
        return reporting("datagen", errors, lambda: cmd_build(args) if args.command == "build" else cmd_show(args))
    except KeyboardInterrupt:
        print("datagen: interrupted; finished tasks are kept: run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
