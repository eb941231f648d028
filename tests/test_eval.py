"""`sample eval` end to end on tiny models: the ladder model, both baselines and a judge, all trained here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import BIN, timed

TINY = str(Path(__file__).parents[1] / "configs" / "tiny.yaml")
KINDS = {
    "ladder": [],
    "rewrite": ["--set", "data.objective=rewrite"],
    "oneshot": ["--set", "data.task=oneshot"],
    "ar": [
        "--set",
        "data.task=oneshot",
        "--set",
        "model.arch=gpt2",
        "--set",
        "model.layers=2",
        "--set",
        "data.objective=rewrite",
    ],
    "judge": [
        "--set",
        "data.task=text",
        "--set",
        "model.arch=gpt2",
        "--set",
        "model.layers=2",
        "--set",
        "data.objective=rewrite",
    ],
}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, small_ladders):
    base = tmp_path_factory.mktemp("eval")
    ladders = small_ladders  # the same 3-level build the other tests share
    for name, extra in KINDS.items():
        timed(
            [str(BIN / "train"), "launch", TINY, "--out", str(base / name), "--set", f"data.path={ladders}", *extra],
            check=True,
            capture_output=True,
        )
    out = base / "report"
    proc = timed(
        [
            str(BIN / "sample"),
            "eval",
            "--models",
            *(str(base / n) for n in ("ladder", "rewrite", "oneshot", "ar")),
            "--judge",
            str(base / "judge"),
            "--data",
            str(ladders),
            "--seeds",
            "2",
            "--num",
            "2",
            "--temperatures",
            "0.7",
            "1.0",
            "--top-p",
            "0.9",
            "1",
            "--words",
            "30",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return base, out, proc.stdout


def test_eval_writes_json_and_plot(evaluated):
    _, out, _ = evaluated
    result = json.loads((out / "eval.json").read_text())
    assert (out / "eval.png").stat().st_size > 1000
    assert [m["name"] for m in result["models"]] == ["ladder", "rewrite", "oneshot", "ar"]
    ladder, rewrite, oneshot, ar = result["models"]
    assert set(ladder["teacher_forced"]) == {"1", "2", "3"} and set(oneshot["teacher_forced"]) == {"3"}
    assert ar["causal"] and not ladder["causal"]
    assert (ladder["objective"], rewrite["objective"], ar["objective"]) == ("infill", "rewrite", "rewrite")
    for k in ("1", "2", "3"):  # infill holds its rung above by construction; an untrained rewrite model does not
        assert ladder["one_step"][k]["contains_rung"] == 1.0
        assert 0 <= rewrite["one_step"][k]["kept_words"] <= 1 and 0 <= rewrite["one_step"][k]["contains_rung"] <= 1
    for m in (ladder, rewrite):  # bits per byte of the same whole rungs, so the two objectives compare
        assert all(v["bits_per_byte"] > 0 for v in m["teacher_forced"].values())
    assert [v["pairs"] for v in ladder["teacher_forced"].values()] == [
        v["pairs"] for v in rewrite["teacher_forced"].values()
    ]
    for m in result["models"]:
        assert set(m["chains"]) == {"T=0.7 p=0.9", "T=0.7 p=1", "T=1 p=0.9", "T=1 p=1"}
        for c in m["chains"].values():
            assert 0 <= c["distinct_1"] <= 1 and c["judge_loss"] > 0 and 0 <= c["seed_coverage"] <= 1
            assert c["gen_ppl"] > 1 and 0 <= c["non_words"] <= 1 and c["unigram_entropy"] >= 0
            assert 0.8 * 30 <= c["length_words"] <= 1.25 * 30  # length-matched: --words 30
        assert m["training_tokens"] > 0 and m["parameters"] > 0 and m["whole_text"]["bits_per_byte"] > 0
    assert len(ladder["chains"]["T=1 p=1"]["example"]) == 4 and len(ar["chains"]["T=1 p=1"]["example"]) == 2
    assert result["judge"]["whole_text"]["bits_per_byte"] > 0
    assert len(result["seeds"]) == 2


def test_table_agrees_with_json(evaluated):
    _, out, stdout = evaluated
    result = json.loads((out / "eval.json").read_text())
    rows = [line.split() for line in stdout.splitlines()]
    for m in result["models"]:
        for k, v in m["teacher_forced"].items():
            row = next(r for r in rows if r[:2] == [m["name"], m["objective"]] and r[2].startswith(k + "→"))
            assert float(row[3]) == pytest.approx(v["loss"], abs=1e-3)
            assert float(row[4]) == pytest.approx(v["copy_loss"], abs=1e-3)
            assert float(row[7]) == pytest.approx(m["one_step"][k]["chrf"], abs=0.1)
            assert float(row[9]) == pytest.approx(m["one_step"][k]["contains_rung"], abs=1e-2)
        for t, c in m["chains"].items():
            row = next(r for r in rows if r[:3] == [m["name"], *t.split()])
            assert float(row[3]) == pytest.approx(c["gen_ppl"], abs=0.1)
            assert float(row[4]) == pytest.approx(c["distinct_2"], abs=1e-3)
            assert float(row[7]) == pytest.approx(c["non_words"], abs=1e-3)


def test_same_rng_seed_same_result(evaluated, tmp_path):
    base, out, _ = evaluated
    again = timed(
        [
            str(BIN / "sample"),
            "eval",
            "--models",
            str(base / "ladder"),
            "--judge",
            str(base / "judge"),
            "--data",
            str(json.loads((out / "eval.json").read_text())["settings"]["data"]),
            "--seeds",
            "2",
            "--num",
            "2",
            "--temperatures",
            "0.7",
            "1.0",
            "--top-p",
            "0.9",
            "1",
            "--words",
            "30",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    first = json.loads((out / "eval.json").read_text())["models"][0]
    assert json.loads((tmp_path / "eval.json").read_text())["models"][0]["chains"] == first["chains"]


def test_judge_must_be_a_text_model(evaluated, tmp_path):
    base, out, _ = evaluated
    data = json.loads((out / "eval.json").read_text())["settings"]["data"]
    proc = timed(
        [
            str(BIN / "sample"),
            "eval",
            "--models",
            str(base / "ladder"),
            "--judge",
            str(base / "ar"),
            "--data",
            data,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "judge must be a language model of text" in proc.stderr


def test_held_out_takes_each_source_in_turn(small_ladders):
    """Seeds and whole-text chunks come from every source of the val split in turn, not the first one's."""
    from evaluation.evaluate import held_out
    from model.pairs import parquet_file, shards

    files = shards(small_ladders, "val")
    rows = [r for f in files for r in parquet_file(f).read(columns=["doc_id", "text"]).to_pylist()]
    source_of = {r["text"]: r["doc_id"].split("/")[0] for r in rows}
    sources = set(source_of.values())
    assert len(sources) >= 2, "the shared small build's val split should hold Austen and Wikipedia"
    seeds, chunks = held_out(files, 4, len(sources))
    assert {source_of[chunk] for chunk, _ in chunks} == sources
    assert len(seeds) == 4 and len(set(seeds)) == 4
    assert all(chunk in document for chunk, document in chunks)
