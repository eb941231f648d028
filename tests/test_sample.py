"""`sample` with a tiny model trained in the test: trajectories, batching, trees, reproducibility, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, timed

TINY = str(Path(__file__).parents[1] / "configs" / "tiny.yaml")


@pytest.fixture(scope="module")
def run(tiny_run) -> Path:
    return tiny_run


def sample(*args: str, check: bool = True, cwd=None) -> subprocess.CompletedProcess:
    proc = timed(
        [str(BIN / "sample"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"sample {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def trajectories(*args: str) -> list[list[str]]:
    return json.loads(sample(*args, "--json").stdout)["trajectories"]


def test_trajectory_has_steps_plus_one_rungs(run):
    out = sample("--seed", "Emma", "--steps", "3", "--model", str(run), "--max-new-tokens", "12")
    assert "rung 3: Emma" in out.stdout and "rung 0:" in out.stdout
    (t,) = trajectories("--seed", "Emma", "--steps", "2", "--model", str(run / "export"), "--max-new-tokens", "12")
    assert len(t) == 3 and t[0] == "Emma"


def test_num_gives_that_many_and_rng_seed_reproduces(run):
    args = ["--seed", "garden", "--steps", "2", "--model", str(run), "--num", "3", "--max-new-tokens", "12"]
    a = trajectories(*args, "--rng-seed", "7")
    assert len(a) == 3 and all(len(t) == 3 for t in a)
    assert len({tuple(t) for t in a}) > 1, "three samples of one batch differ"
    assert trajectories(*args, "--rng-seed", "7") == a
    assert trajectories(*args, "--rng-seed", "8") != a


def test_tree_branches_every_step(run):
    t = trajectories(
        "--seed", "war", "--steps", "2", "--tree", "2", "--model", str(run), "--max-new-tokens", "8", "--rng-seed", "1"
    )
    assert len(t) == 4 and len({x[1] for x in t}) <= 2 and all(x[0] == "war" for x in t)
    assert t[0][1] == t[1][1] and t[2][1] == t[3][1]
    shown = sample("--seed", "war", "--steps", "2", "--tree", "2", "--model", str(run), "--max-new-tokens", "8").stdout
    assert shown.count("rung 0:") == 4 and shown.count("rung 2: war") == 1


def test_json_output_parses(run):
    out = json.loads(
        sample("--seed", "AI", "--steps", "1", "--model", str(run), "--json", "--max-new-tokens", "5").stdout
    )
    assert out["settings"]["seed"] == "AI" and out["settings"]["steps"] == 1
    assert isinstance(out["settings"]["rng_seed"], int) and out["trajectories"][0][0] == "AI"


def test_python_api_matches_cli(run):
    import torch

    from sample import Decoding, expand, load

    model, tok, info = load(run / "export", "cpu")
    torch.manual_seed(5)
    t = expand(model, tok, info, "Emma", 2, num=2, decoding=Decoding(max_new_tokens=10))
    assert len(t) == 2 and all(len(x) == 3 for x in t)
    cli = trajectories(
        "--seed", "Emma", "--steps", "2", "--num", "2", "--model", str(run), "--max-new-tokens", "10", "--rng-seed", "5"
    )
    assert cli == t


def test_export_works_without_its_run_folder(run, tmp_path):
    alone = tmp_path / "moved"
    shutil.copytree(run / "export", alone)
    assert len(trajectories("--seed", "Emma", "--steps", "1", "--model", str(alone), "--max-new-tokens", "5")) == 1


def test_default_model_is_the_newest_run(run, tmp_path):
    (tmp_path / "runs").mkdir()
    shutil.copytree(run / "export", tmp_path / "runs" / "a" / "export")
    judge = tmp_path / "runs" / "b" / "export"  # newer, but a judge of text: never the default
    shutil.copytree(run / "export", judge)
    info = json.loads((judge / "ladder.json").read_text())
    (judge / "ladder.json").write_text(json.dumps({**info, "task": "text"}))
    out = sample("--seed", "Emma", "--steps", "1", "--json", "--max-new-tokens", "5", cwd=tmp_path)
    assert json.loads(out.stdout)["settings"]["model"].endswith("a/export")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = sample("--seed", "Emma", cwd=empty, check=False)
    assert proc.returncode == 2 and "train launch" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "   "], "seed is empty"),
        (["--seed", "x", "--steps", "4"], "--steps 4 is out of range: from 1 to 3"),
        (["--seed", "x", "--steps", "0"], "--steps 0 is out of range: from 1 to 3"),
    ],
)
def test_errors(run, args, message):
    proc = sample(*args, "--model", str(run), check=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_not_a_model_and_corrupt_checkpoint(run, tmp_path):
    proc = sample("--seed", "x", "--model", str(tmp_path), check=False)
    assert proc.returncode == 2 and "not a model" in proc.stderr
    broken = tmp_path / "broken"
    shutil.copytree(run / "export", broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 100)
    proc = sample("--seed", "x", "--model", str(broken), check=False)
    assert proc.returncode == 2 and "cannot load the model" in proc.stderr and "Traceback" not in proc.stderr


def test_default_model_is_the_newest_expander_and_broken_runs_are_passed_over(tmp_path):
    """Without --model, sample takes the newest run export that expands seeds: a judge (task text) or a
    run whose ladder.json cannot be read does not stop it; with none left, the error names the broken."""
    import time

    from model.export import ExportInfo, ModelError, resolve

    def export(name: str, task: str = "ladder", text: str | None = None) -> Path:
        folder = tmp_path / name / "export"
        folder.mkdir(parents=True)
        if text is None:
            ExportInfo(4, "infill", task, False, 64, 64, {"1": 8}).write(folder)
        else:
            (folder / "ladder.json").write_text(text, encoding="utf-8")
        time.sleep(0.02)  # distinct modification times
        return folder

    export("broken", text="{not json")
    with pytest.raises(ModelError, match="1 broken: .*broken/export/ladder.json"):
        resolve(None, tmp_path)
    good = export("good")
    export("judge", task="text")
    export("incomplete", text='{"levels": 4}')
    assert resolve(None, tmp_path) == good
