"""`datagen build` end to end: the real pipeline on datatrove, Parquet shards, manifest, CLI errors."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from compressors import check
from tests.conftest import datagen, rows

ARGS = ["--levels", "3", "--variants", "2", "--max-words", "128"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, small_corpus):
    out = tmp_path_factory.mktemp("build") / "ladders"
    proc = datagen("build", "--input", str(small_corpus), "--out", str(out), "--workers", "1", *ARGS)
    return out, proc


def test_build_writes_shards_and_manifest(built, small_corpus):
    out, proc = built
    assert str(out) in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["config"]["ladder"]["levels"] == 3 and manifest["config"]["input"] == [str(small_corpus)]
    assert manifest["counts"]["documents"] == 18
    got = rows(out)
    assert manifest["counts"]["chunks"] == len(got) == sum(s["rows"] for s in manifest["shards"])
    assert {"datatrove", "rake-nltk", "pyarrow"} <= set(manifest["versions"])
    assert not list((out / ".partial").rglob("*.parquet"))


def test_rows_follow_the_contract(built):
    out, _ = built
    got = rows(out)
    assert len({r["id"] for r in got}) == len(got)
    for r in got:
        assert r["split"] in {"train", "val"}
        assert r["id"] == f"{r['doc_id']}#{r['chunk']}"
        assert len(r["ladders"]) == 2 and all(len(lad) == 3 for lad in r["ladders"])
        assert len(r["methods"]) == 3 and r["methods"][-1] == "word"
        for lad in r["ladders"]:
            check([r["text"], *lad])
    # the documents of the default corpus carry their own ids
    assert got[0]["doc_id"].startswith(("austen/", "wikipedia/"))
    by_doc = {}
    for r in got:
        by_doc.setdefault(r["doc_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_doc.values()), "a document's chunks share one split"


def test_shards_load_without_project_code(built):
    out, _ = built
    table = pq.read_table(out / "data")
    assert table.schema.field("ladders").type.value_type.value_type == "string"
    frame = pd.read_parquet(out / "data" / "train")
    assert len(frame) > 0 and list(frame.columns[:4]) == ["id", "doc_id", "chunk", "split"]
    import datasets

    ds = datasets.load_dataset("parquet", data_files={"train": str(out / "data/train/*.parquet")}, split="train")
    assert len(ds) == len(frame) and len(ds[0]["ladders"][0]) == 3


def test_workers_do_not_change_rows(built, tmp_path, small_corpus):
    out, _ = built
    two = tmp_path / "two"
    datagen("build", "--input", str(small_corpus), "--out", str(two), "--workers", "2", "--tasks", "3", *ARGS)
    assert len(list((two / "data").glob("*/*.parquet"))) >= 3
    assert rows(two) == rows(out)


def test_show_prints_rungs(built):
    out, _ = built
    shown = datagen("show", str(out), "--n", "1").stdout
    assert "rung 0" in shown and "rung 3  word" in shown and "variant 1" in shown


def test_rerun_resumes_and_other_settings_are_refused(built, small_corpus):
    out, _ = built
    before = rows(out)
    again = datagen("build", "--input", str(small_corpus), "--out", str(out), "--workers", "1", *ARGS)
    assert rows(out) == before and "chunks" in again.stdout
    refused = datagen(
        "build",
        "--input",
        str(small_corpus),
        "--out",
        str(out),
        "--workers",
        "1",
        "--levels",
        "4",
        "--variants",
        "2",
        "--max-words",
        "128",
        check=False,
    )
    assert refused.returncode == 2 and "ladder.levels=3" in refused.stderr and "--force" in refused.stderr
    assert rows(out) == before, "a refused run loses nothing"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.jsonl", "no such file"),
        (lambda d: (d / "notes.csv").write_text("a,b\n") and d / "notes.csv", "unsupported file type"),
        (lambda d: (d / "bad.jsonl.gz").write_bytes(b"not gzip at all") and d / "bad.jsonl.gz", "cannot read"),
        (lambda d: (d / "other.jsonl").write_text('{"body": "x"}\n') and d / "other.jsonl", "--text-column"),
    ],
)
def test_unreadable_input_is_a_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    proc = datagen("build", "--input", str(path), "--out", str(tmp_path / "out"), check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and str(path) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_parquet_input_with_missing_column_names_it(tmp_path):
    import pyarrow as pa

    pq.write_table(pa.table({"body": ["some text here."]}), tmp_path / "x.parquet")
    proc = datagen(
        "build",
        "--input",
        str(tmp_path / "x.parquet"),
        "--text-column",
        "content",
        "--out",
        str(tmp_path / "out"),
        check=False,
    )
    assert proc.returncode == 2 and "'content'" in proc.stderr and "x.parquet" in proc.stderr


def test_bad_config_key_is_named(tmp_path):
    cfg = tmp_path / "d.yaml"
    cfg.write_text("ladder:\n  levles: 3\n")
    proc = datagen("build", "--config", str(cfg), check=False)
    assert proc.returncode == 2 and "ladder.levles" in proc.stderr and str(cfg) in proc.stderr
    proc = datagen("build", "--set", "max_words=lots", check=False)
    assert proc.returncode == 2 and "max_words" in proc.stderr


def test_config_file_and_parquet_and_txt_inputs(tmp_path, corpus_docs):
    import pyarrow as pa

    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(
        pa.table({"doc": [d["id"] for d in corpus_docs[:3]], "body": [d["text"] for d in corpus_docs[:3]]}),
        folder / "a.parquet",
    )
    cfg = tmp_path / "d.yaml"
    cfg.write_text(
        f"input: [{folder / 'a.parquet'}]\ntext_column: body\nid_column: doc\nmax_words: 200\n"
        "ladder:\n  levels: 2\n  variants: 1\n"
    )
    datagen("build", "--config", str(cfg), "--out", str(tmp_path / "p"))
    got = rows(tmp_path / "p")
    assert {r["doc_id"] for r in got} == {d["id"] for d in corpus_docs[:3]}
    assert all(len(r["ladders"]) == 1 and len(r["ladders"][0]) == 2 for r in got)
    (folder / "b.txt").write_text(corpus_docs[5]["text"])
    datagen("build", "--input", str(folder / "b.txt"), "--out", str(tmp_path / "t"), "--levels", "2")
    assert {r["doc_id"] for r in rows(tmp_path / "t")} == {str(folder / "b.txt")}


def test_hugging_face_dataset_by_name(tmp_path, corpus_docs):
    """A data set loaded through `datasets.load_dataset` (here a local folder: nothing is downloaded)."""
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "train.jsonl").write_text("".join(json.dumps({"text": d["text"]}) + "\n" for d in corpus_docs[:4]))
    datagen(
        "build",
        "--dataset",
        str(folder),
        "--split",
        "train",
        "--out",
        str(tmp_path / "o"),
        "--levels",
        "2",
        "--workers",
        "2",
    )
    got = rows(tmp_path / "o")
    assert len({r["doc_id"] for r in got}) == 4 and got[0]["doc_id"].startswith(str(folder))


def test_file_failing_inside_a_task_is_named_and_exit_is_nonzero(tmp_path, small_corpus):
    import gzip

    whole = gzip.compress(small_corpus.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    # one task: the file is read whole, inside the task
    proc = datagen(
        "build", "--input", str(cut), "--out", str(tmp_path / "o"), "--workers", "2", "--tasks", "1", check=False
    )
    assert proc.returncode == 2 and "datagen: error:" in proc.stderr and str(cut) in proc.stderr
    assert not (tmp_path / "o" / "manifest.json").exists()
    # two tasks: the planner unpacks the small file to split it, and fails there, before any task
    proc = datagen(
        "build", "--input", str(cut), "--out", str(tmp_path / "p"), "--workers", "2", "--tasks", "2", check=False
    )
    assert proc.returncode == 2 and str(cut) in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "p" / "manifest.json").exists()
