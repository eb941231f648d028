"""Command line of the training stage: `train launch config.yaml`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from textladder.commands import reporting
from textladder.config import ConfigError, load, parse_override


def _launcher_command(args) -> list[str]:
    """The same command under the `deepspeed` launcher, which starts one process per slot."""
    from train.dist import free_port

    cmd = [str(Path(sys.executable).parent / "deepspeed"), "--no_local_rank", "--master_port", str(free_port())]
    cmd += ["--hostfile", args.hostfile] if args.hostfile else ["--num_gpus", str(args.nproc)]
    cmd += ["--module", "train.cli", "launch", args.config, "--out", str(args.out)]
    for item in args.set:
        cmd += ["--set", item]
    return cmd


def cmd_launch(args) -> int:
    from train.config import TrainConfig

    cfg = load(TrainConfig, args.config, dict(parse_override(item) for item in args.set))
    args.out = Path(args.out or Path("runs") / Path(args.config).stem)
    if (args.nproc > 1 or args.hostfile) and "LOCAL_RANK" not in os.environ:
        return subprocess.call(_launcher_command(args))
    from train.loop import launch

    last = launch(cfg, args.out)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"run: {args.out}  export: {args.out / 'export'}  metrics: {args.out / 'metrics.jsonl'}")
        if "val_loss_by_step" in last:
            print("val loss by step:", {k: round(v, 4) for k, v in last["val_loss_by_step"].items()})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("launch", help="train a model from a YAML config (resumes a killed run)")
    p.add_argument("config", help="a training config, e.g. configs/tiny.yaml")
    p.add_argument("--out", help="run folder (default runs/<config name>)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. data.path=DIR"
    )
    p.add_argument("--nproc", type=int, default=1, help="processes on this machine, through the deepspeed launcher")
    p.add_argument("--hostfile", help="a DeepSpeed hostfile, for several nodes")
    s = sub.add_parser("show", help="a run's losses against the copy-the-input baseline")
    s.add_argument("run", help="a run folder of `train launch`")
    args = parser.parse_args(argv)
    from model.pairs import DataError
    from textladder.files import DamagedFile

    errors: tuple[type[Exception], ...] = (ConfigError, DataError, DamagedFile, FileNotFoundError)
    if args.command == "launch":
        from textladder.files import Locked
        from train.checkpoint import CheckpointError
        from train.export import ExportError
        from train.loop import TrainingError

        errors += (TrainingError, ExportError, CheckpointError, Locked)
    return reporting("train", errors, lambda: cmd_show(args) if args.command == "show" else cmd_launch(args))


def cmd_show(args) -> int:
    from train.report import summary

    print(summary(Path(args.run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
