"""Hostile inputs and what each command says about them: one table, run by tests/test_hostile.py and
shown in docs/bad-input.md (`python -m tests.hostile > docs/bad-input.md`; a test checks it is current).

Each case prepares its input in a folder of its own (copies of the shared tiny run and ladders, never
the originals), runs the real command, and is checked for its exit status, a part of what it says,
no Python traceback, and where it says so, that nothing already written was lost.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import BIN, PROCESS_TIMEOUT, TINY, timed
from textladder.files import lock


@dataclass
class Ctx:
    run: Path  # a trained tiny run (checkpoints step-16 and step-20, export); copy before changing it
    ladders: Path  # its ladders
    corpus: Path  # a small jsonl corpus
    tmp: Path  # this case's own folder


@dataclass(frozen=True)
class Case:
    command: str  # what the user runs, for the table
    input: str  # the bad input, in words
    says: str  # a part of what the command prints (stdout or stderr)
    code: int  # its exit status
    go: Callable[[Ctx], subprocess.CompletedProcess]
    kept: str = ""  # what is checked to be intact afterwards, in words ("" when nothing was written)


def cli(name: str, *args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return timed(
        [str(BIN / name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def copy_run(ctx: Ctx) -> Path:
    out = ctx.tmp / "run"
    shutil.copytree(ctx.run, out)
    return out


def copy_ladders(ctx: Ctx) -> Path:
    out = ctx.tmp / "ladders"
    shutil.copytree(ctx.ladders, out)
    return out


def tiny(ctx: Ctx, out: Path, *sets: str, ladders: Path | None = None) -> subprocess.CompletedProcess:
    args = ["--set", f"data.path={ladders or ctx.ladders}", *[a for s in sets for a in ("--set", s)]]
    return cli("train", "launch", TINY, "--out", str(out), *args)


def first_shard(ladders: Path, split: str = "train") -> Path:
    return sorted((ladders / "data" / split).glob("*.parquet"))[0]


# --- datagen ---------------------------------------------------------------------------------------------


def datagen_locked(ctx: Ctx):
    out = ctx.tmp / "out"
    with lock(out, "another datagen build"):
        return cli("datagen", "build", "--input", str(ctx.corpus), "--out", str(out), "--levels", "3")


def datagen_interrupted(ctx: Ctx):
    """Ctrl-C reaches the whole process group, as from a terminal, while tasks are writing shards."""
    out, gate = ctx.tmp / "out", ctx.tmp / "gate"
    args = ["build", "--input", str(ctx.corpus), "--out", str(out), "--levels", "3", "--workers", "2", "--tasks", "2"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TEXTLADDER_HOLD": f"datagen:written:0:{gate}"}
    proc = subprocess.Popen(
        [str(BIN / "datagen"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    end = time.monotonic() + PROCESS_TIMEOUT
    while not Path(f"{gate}.reached").exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=PROCESS_TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def show_cut_shard(ctx: Ctx):
    ladders = copy_ladders(ctx)
    shard = first_shard(ladders)
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    return cli("datagen", "show", str(ladders))


def show_flipped_footer(ctx: Ctx):
    ladders = copy_ladders(ctx)
    shard = first_shard(ladders)
    data = bytearray(shard.read_bytes())
    for i in range(len(data) - 40, len(data) - 8):  # inside the footer's metadata, before its length
        data[i] ^= 0xFF
    shard.write_bytes(bytes(data))
    return cli("datagen", "show", str(ladders))


# --- train -----------------------------------------------------------------------------------------------


def train_cut_shard(ctx: Ctx):
    ladders = copy_ladders(ctx)
    for shard in (ladders / "data" / "train").glob("*.parquet"):
        shard.write_bytes(shard.read_bytes()[:100])
    return tiny(ctx, ctx.tmp / "new", ladders=ladders)


def train_nan_loss(ctx: Ctx):
    return tiny(ctx, ctx.tmp / "new", "optimizer.lr=1000000")


def damaged_checkpoint(part: str):
    def go(ctx: Ctx):
        run = copy_run(ctx)
        newest = sorted(run.glob("step-*"))[-1]
        for f in sorted(p for p in newest.rglob(part) if p.is_file()):
            f.write_bytes(f.read_bytes()[: max(1, f.stat().st_size // 3)])
        return tiny(ctx, run, "schedule.max_steps=24")

    return go


def disk_full(ctx: Ctx):
    """The run folder on a 2 MB tmpfs (root only: the test skips elsewhere), filled up before step 24."""
    run = ctx.tmp / "small-disk"
    run.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(run)], check=True, timeout=30)
    try:
        shutil.copytree(ctx.run, run, dirs_exist_ok=True, ignore=shutil.ignore_patterns("step-00000016"))
        free = shutil.disk_usage(run).free
        (run / "filler").write_bytes(b"\0" * max(free - 64 * 1024, 0))
        proc = tiny(ctx, run, "schedule.max_steps=24")
        intact = (run / "step-00000020").is_dir() and not (run / "step-00000024").exists()
        proc.stdout += "\n[kept: step-00000020 intact]" if intact else "\n[step-00000020 lost]"
        return proc
    finally:
        subprocess.run(["umount", "-l", str(run)], timeout=30)


def torn_metrics(ctx: Ctx):
    run = copy_run(ctx)
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 21, "loss": 3.')
    return cli("train", "show", str(run))


def train_locked(ctx: Ctx):
    run = copy_run(ctx)
    with lock(run, "another train launch"):
        return tiny(ctx, run, "schedule.max_steps=24")


def empty_config(ctx: Ctx):
    path = ctx.tmp / "empty.yaml"
    path.write_text("# nothing here\n")
    return cli("train", "launch", str(path), "--out", str(ctx.tmp / "new"))


# --- sample and codec ------------------------------------------------------------------------------------


def nan_weights(ctx: Ctx):
    """An export whose weights load but hold NaN (as bytes flipped in an exponent make them)."""
    from safetensors.torch import load_file, save_file

    export = ctx.tmp / "export"
    shutil.copytree(ctx.run / "export", export)
    weights = load_file(export / "model.safetensors")
    for name in weights:
        weights[name] = weights[name].clone().fill_(float("nan"))
    save_file(weights, export / "model.safetensors", metadata={"format": "pt"})
    return cli("sample", "--seed", "AI", "--model", str(export))


def out_is_a_file(ctx: Ctx):
    out = ctx.tmp / "ladders.txt"
    out.write_text("notes\n")
    proc = cli("datagen", "build", "--input", str(ctx.corpus), "--out", str(out), "--levels", "3")
    proc.stdout += "\n[kept: the file intact]" if out.read_text() == "notes\n" else "\n[the file lost]"
    return proc


def sample_with(*args: str):
    return lambda ctx: cli("sample", "--seed", "AI", *args, "--model", str(ctx.run))


def archive(ctx: Ctx) -> tuple[Path, Path]:
    src = ctx.tmp / "text.txt"
    src.write_text("Emma Woodhouse, handsome, clever, and rich, had lived nearly twenty-one years.\n" * 3)
    packed = ctx.tmp / "text.tlz"
    proc = cli("codec", "pack", str(src), "-o", str(packed), "--model", str(ctx.run))
    assert proc.returncode == 0, proc.stderr
    return src, packed


def unpack_damaged(how: str):
    def go(ctx: Ctx):
        _, packed = archive(ctx)
        data = packed.read_bytes()
        packed.write_bytes(data[: len(data) - 20] if how == "cut" else data + b"\x01\x02\x03")
        return cli("codec", "unpack", str(packed), "-o", str(ctx.tmp / "out.txt"))

    return go


def pack_over_input(ctx: Ctx):
    src, _ = archive(ctx)
    proc = cli("codec", "pack", str(src), "-o", str(src), "--model", str(ctx.run))
    proc.stdout += "\n[kept: input intact]" if src.read_text().startswith("Emma Woodhouse") else "\n[input lost]"
    return proc


def unpack_over_existing(ctx: Ctx):
    _, packed = archive(ctx)
    existing = ctx.tmp / "notes.txt"
    existing.write_text("my notes\n")
    proc = cli("codec", "unpack", str(packed), "-o", str(existing))
    proc.stdout += "\n[kept: output intact]" if existing.read_text() == "my notes\n" else "\n[output lost]"
    return proc


CASES: list[Case] = [
    Case(
        "datagen build",
        "another build writes into the same --out",
        "another datagen build already writes here",
        2,
        datagen_locked,
    ),
    Case(
        "datagen build",
        "Ctrl-C (SIGINT to the process group) while tasks write shards",
        "run the same command again to resume",
        130,
        datagen_interrupted,
    ),
    Case("datagen show", "a shard cut to half its size", "a damaged Parquet shard", 2, show_cut_shard),
    Case("datagen show", "a shard whose footer bytes are flipped", "a damaged Parquet shard", 2, show_flipped_footer),
    Case("train launch", "every train shard cut to 100 bytes", "a damaged Parquet shard", 2, train_cut_shard),
    Case(
        "train launch",
        "`--set optimizer.lr=-0.003`",
        "optimizer.lr=-0.003 must be a finite number above 0",
        2,
        lambda ctx: tiny(ctx, ctx.tmp / "new", "optimizer.lr=-0.003"),
    ),
    Case(
        "train launch",
        "`--set optimizer.lr=.nan`",
        "optimizer.lr=nan must be a finite number above 0",
        2,
        lambda ctx: tiny(ctx, ctx.tmp / "new", "optimizer.lr=.nan"),
    ),
    Case(
        "train launch",
        "`--set optimizer.lr=1000000`: the loss becomes NaN",
        "the loss is not finite at step",
        2,
        train_nan_loss,
    ),
    Case(
        "train launch",
        "`--set optimizer.lr=3e-4` (YAML 1.1 reads a string)",
        "step 8/8",
        0,
        lambda ctx: tiny(ctx, ctx.tmp / "new", "optimizer.lr=3e-4"),
    ),
    Case("train launch", "an empty config file", "is empty", 2, empty_config),
    Case(
        "train launch (resume)",
        "the newest checkpoint's weights (`*.pt`) cut to a third",
        "is damaged: resuming from step-00000016",
        0,
        damaged_checkpoint("*.pt"),
    ),
    Case(
        "train launch (resume)",
        "the newest checkpoint's `rank-*.json` cut to a third",
        "is damaged: resuming from step-00000016",
        0,
        damaged_checkpoint("rank-*.json"),
    ),
    Case(
        "train launch",
        "the disk fills up while a checkpoint is written",
        "the disk is full",
        2,
        disk_full,
        kept="step-00000020 intact",
    ),
    Case(
        "train launch",
        "a second launch into a run folder that one is writing",
        "another train launch already writes here",
        2,
        train_locked,
    ),
    Case("train show", "`metrics.jsonl` whose last line was cut mid-write", "step", 0, torn_metrics),
    Case(
        "sample",
        "`--num 100000`",
        "--num 100000 is out of range: from 1 to 10000",
        2,
        lambda ctx: cli("sample", "--seed", "AI", "--num", "100000", "--model", str(ctx.run)),
    ),
    Case(
        "sample",
        "`--num 500 --tree 3` over 3 steps (13,500 texts)",
        "more than 10000 at once",
        2,
        lambda ctx: cli("sample", "--seed", "AI", "--num", "500", "--tree", "3", "--model", str(ctx.run)),
    ),
    Case(
        "sample",
        "`--words 0`",
        "--words 0 is out of range",
        2,
        lambda ctx: cli("sample", "--seed", "AI", "--words", "0", "--model", str(ctx.run)),
    ),
    Case(
        "sample",
        "`--words many`",
        "--words",
        2,
        lambda ctx: cli("sample", "--seed", "AI", "--words", "many", "--model", str(ctx.run)),
    ),
    Case(
        "sample",
        "`--words 2` for a seed whose chain needs more",
        "words this seed's chain needs at least",
        2,
        lambda ctx: cli("sample", "--seed", "AI", "--words", "2", "--model", str(ctx.run)),
    ),
    Case(
        "sample",
        "`--temperature -1`",
        "--temperature -1.0 is below 0",
        2,
        lambda ctx: cli("sample", "--seed", "AI", "--temperature", "-1", "--model", str(ctx.run)),
    ),
    Case(
        "sample",
        "`--top-p 1.5`",
        "--top-p 1.5 is out of range",
        2,
        lambda ctx: cli("sample", "--seed", "AI", "--top-p", "1.5", "--model", str(ctx.run)),
    ),
    Case(
        "sample",
        "`--temperature nan`",
        "--temperature nan is not a finite number",
        2,
        sample_with("--temperature", "nan"),
    ),
    Case(
        "sample",
        "`--temperature inf`",
        "--temperature inf is not a finite number",
        2,
        sample_with("--temperature", "inf"),
    ),
    Case("sample", "`--top-p -1`", "--top-p -1.0 is out of range", 2, sample_with("--top-p", "-1")),
    Case("sample", "`--top-p nan`", "--top-p nan is not a finite number", 2, sample_with("--top-p", "nan")),
    Case("sample", "`--top-k -1`", "--top-k -1 is out of range", 2, sample_with("--top-k", "-1")),
    Case("sample", "`--lexicon some`", "--lexicon: invalid choice: 'some'", 2, sample_with("--lexicon", "some")),
    Case(
        "sample",
        "`--max-new-tokens -1`",
        "--max-new-tokens -1 is out of range",
        2,
        sample_with("--max-new-tokens", "-1"),
    ),
    Case("sample", "a model whose weights load but are NaN", "not finite", 2, nan_weights),
    Case(
        "datagen build",
        "`--out` naming an existing file",
        "a file, not a folder",
        2,
        out_is_a_file,
        kept="the file intact",
    ),
    Case("codec unpack", "an archive cut by 20 bytes", "damaged", 2, unpack_damaged("cut")),
    Case("codec unpack", "an archive with 3 bytes appended", "damaged", 2, unpack_damaged("appended")),
    Case(
        "codec pack",
        "`-o` naming the input itself",
        "that is the input itself",
        2,
        pack_over_input,
        kept="input intact",
    ),
    Case(
        "codec unpack",
        "`-o` naming an existing file, without `--force`",
        "--force",
        2,
        unpack_over_existing,
        kept="output intact",
    ),
]


def case_id(case: Case) -> str:
    return f"{case.command}: {case.input}"


def table() -> str:
    from tests.test_serve import BAD

    lines = [
        "# What bad input gets",
        "",
        "Generated from the cases that `tests/test_hostile.py` and `tests/test_serve.py` run (`python -m",
        "tests.hostile > docs/bad-input.md`; `tests/test_hostile.py` checks this page is current). Every case",
        "ends without a Python traceback; where a column says so, what was there before is checked intact.",
        "",
        "| command | input | exit | says (a part of its message) | kept |",
        "|---|---|---|---|---|",
    ]
    for c in CASES:
        lines.append(f"| `{c.command}` | {c.input} | {c.code} | {c.says} | {c.kept} |")
    lines += [
        "",
        "`sample serve`, `POST /v1/expand` (the server keeps serving after each):",
        "",
        "| body | status | field named | says |",
        "|---|---|---|---|",
    ]
    for body, status, field_name, message in BAD:
        shown = body[:60].decode("utf-8", "replace").replace("|", "\\|") + ("…" if len(body) > 60 else "")
        lines.append(f"| `{shown}` | {status} | {field_name or ''} | {message} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(table(), end="")
