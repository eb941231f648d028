"""The work plan: every input row read by exactly one task, balanced by bytes, stored and reused.

Real files, the real planner and reader, and the real `datagen` CLI; the counters in the manifest are
checked against rows counted independently here.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.plan import Columns, WorkUnit, make_plan
from datagen.read import unit_rows
from tests.conftest import datagen, rows

FAST = ["--levels", "2", "--variants", "1", "--max-words", "64"]


def sentences(corpus_docs, n: int) -> list[str]:
    """n short documents (a few sentences each) cut from the default corpus."""
    words = " ".join(d["text"] for d in corpus_docs[:40]).split()
    return [" ".join(words[i * 40 : (i + 1) * 40]) for i in range(n)]


@pytest.fixture(scope="module")
def big_parquet(tmp_path_factory, corpus_docs):
    path = tmp_path_factory.mktemp("pq") / "big.parquet"
    texts = sentences(corpus_docs, 600)
    pq.write_table(pa.table({"text": texts}), path, row_group_size=25)  # 24 row groups
    return path, len(texts)


def covered(plan) -> list[tuple[str, int]]:
    """(file, row group) of every unit of every task, with repeats."""
    return [(u.path, g) for task in plan["tasks"] for u in task for g in range(u.start, u.stop)]


def test_one_big_parquet_spreads_its_row_groups_over_every_task(big_parquet):
    path, _ = big_parquet
    plan = make_plan([str(path)], 5, Columns())
    groups = covered(plan)
    assert sorted(groups) == [(str(path), g) for g in range(24)], "each row group in exactly one task"
    per_task = plan["summary"]["bytes_per_task"]
    assert all(per_task), "every task gets row groups"
    biggest_unit = max(pq.ParquetFile(path).metadata.row_group(i).total_byte_size for i in range(24))
    assert max(per_task) - min(per_task) <= 2 * biggest_unit
    # adjacent row groups of one task are one unit: the file is opened once per task
    assert all(len(task) == 1 for task in plan["tasks"])


def test_many_files_are_each_read_by_one_task(tmp_path, corpus_docs):
    texts = sentences(corpus_docs, 40)
    for i in range(8):
        (tmp_path / f"part-{i}.jsonl").write_text(
            "".join(json.dumps({"text": t}) + "\n" for t in texts[i * 5 : (i + 1) * 5])
        )
    plan = make_plan([str(tmp_path)], 3, Columns())
    units = [u for task in plan["tasks"] for u in task]
    assert sorted(u.path for u in units) == sorted(str(p) for p in tmp_path.glob("*.jsonl"))
    assert all(u.start == 0 and u.stop == (tmp_path / u.path).stat().st_size for u in units)
    assert [len(t) for t in plan["tasks"]] in ([3, 3, 2], [3, 2, 3], [2, 3, 3])


def test_compressed_file_stays_whole(tmp_path, small_corpus):
    import gzip

    gz = tmp_path / "c.jsonl.gz"
    gz.write_bytes(gzip.compress(small_corpus.read_bytes()))
    plan = make_plan([str(gz), str(small_corpus)], 4, Columns())
    gz_units = [u for task in plan["tasks"] for u in task if u.kind == "gz"]
    assert len(gz_units) == 1 and gz_units[0].stop == gz.stat().st_size
    jsonl_units = [u for task in plan["tasks"] for u in task if u.kind == "jsonl"]
    assert len(jsonl_units) > 1, "the uncompressed file larger than a task's share is cut into ranges"


LINE = st.one_of(st.just(""), st.text(alphabet='ab é\t{}"', max_size=12).map(lambda t: json.dumps({"text": t})))


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(LINE, min_size=1, max_size=12), cuts=st.lists(st.integers(0, 400), max_size=4), crlf=st.booleans()
)
def test_byte_ranges_read_each_line_once(tmp_path_factory, lines, cuts, crlf):
    """Whatever the cut points, the ranges of a JSONL file yield exactly the rows of the whole file, once."""
    path = tmp_path_factory.mktemp("ranges") / "x.jsonl"
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode())
    size = path.stat().st_size
    bounds = sorted({0, size, *(c % (size + 1) for c in cuts)})

    def read(start, stop):
        unit = WorkUnit(str(path), "jsonl", start, stop, stop - start)
        return [(r.doc_id, r.text) for r in unit_rows(unit, Columns(), [])]

    pieces = [row for a, b in zip(bounds, bounds[1:]) for row in read(a, b)]
    assert pieces == read(0, size)
    assert len(pieces) == sum(1 for line in lines if line.strip())


def manifest(out):
    return json.loads((out / "manifest.json").read_text())


def stats(out, tasks) -> list[dict[str, float]]:
    """The reader's counters of each task (datatrove stores a plain count or a {total, ...} summary)."""
    found = []
    for r in range(tasks):
        reader = json.loads((out / "logs" / "stats" / f"{r:05d}.json").read_text())[0]["stats"]
        found.append({k: v["total"] if isinstance(v, dict) else v for k, v in reader.items()})
    return found


def test_big_parquet_build_reads_every_row_once(tmp_path, big_parquet):
    path, n = big_parquet
    out = tmp_path / "o"
    datagen("build", "--input", str(path), "--out", str(out), "--tasks", "4", "--workers", "2", *FAST)
    read = manifest(out)["input"]
    assert read["rows_read"] == n == read["rows_from_footers"]
    # every task reads its row groups' column chunks and the file's footer (its 8-byte tail, then the
    # footer with that tail), and nothing else: the bytes add up exactly
    meta = pq.read_metadata(path)
    chunks = sum(
        meta.row_group(i).column(j).total_compressed_size
        for i in range(meta.num_row_groups)
        for j in range(meta.num_columns)
    )
    with open(path, "rb") as f:
        f.seek(-8, 2)
        footer = int.from_bytes(f.read(4), "little")
    per_task = stats(out, 4)
    assert all(s.get("rows_read", 0) > 0 for s in per_task)
    assert read["bytes_read"] == chunks + 4 * (footer + 16)
    assert read["bytes_read"] < path.stat().st_size * 1.6  # 4 footers on a small file; see bench/datagen_scale.py
    assert sum(s.get("rows_read", 0) for s in per_task) == n
    ids = {r["doc_id"] for r in rows(out)}
    assert ids <= {f"{path}:{i}" for i in range(n)} and len(ids) > n * 0.9
    # the plan is stored with the logs: summary plus one file per task
    plan = json.loads((out / "logs" / "plan.json").read_text())
    assert plan["tasks"] == 4 and len(list((out / "logs" / "plan").glob("*.json"))) == 4


def test_task_count_does_not_change_rows_and_a_rerun_keeps_its_plan(tmp_path, small_corpus):
    """An uncompressed JSONL cut into byte ranges gives the rows of the whole file (offset ids)."""
    one, five = tmp_path / "one", tmp_path / "five"
    datagen("build", "--input", str(small_corpus), "--out", str(one), "--tasks", "1", "--workers", "1", *FAST)
    datagen("build", "--input", str(small_corpus), "--out", str(five), "--tasks", "5", "--workers", "2", *FAST)
    assert rows(one) == rows(five)
    lines = sum(1 for line in small_corpus.read_text().splitlines() if line.strip())
    assert manifest(five)["input"]["rows_read"] == lines == manifest(one)["input"]["rows_read"]
    assert manifest(five)["input"]["units"] > 1
    before = rows(five)
    refused = datagen(
        "build", "--input", str(small_corpus), "--out", str(five), "--tasks", "2", "--workers", "2", *FAST, check=False
    )
    assert refused.returncode == 2 and "tasks=5" in refused.stderr and "plan.json" in refused.stderr
    assert "--force" in refused.stderr and rows(five) == before, "a refused run loses nothing"


def test_offset_ids_are_stable_across_task_counts(tmp_path, corpus_docs):
    src = tmp_path / "noid.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in sentences(corpus_docs, 30)))
    a, b = tmp_path / "a", tmp_path / "b"
    datagen("build", "--input", str(src), "--out", str(a), "--tasks", "1", "--workers", "1", *FAST)
    datagen("build", "--input", str(src), "--out", str(b), "--tasks", "4", "--workers", "2", *FAST)
    assert rows(a) == rows(b)
    offsets, pos = set(), 0
    for line in src.read_bytes().splitlines(keepends=True):
        offsets.add(f"{src}@{pos}")
        pos += len(line)
    assert {r["doc_id"] for r in rows(a)} <= offsets


def test_hugging_face_folder_is_read_file_by_file(tmp_path, corpus_docs):
    """A local multi-file data set: each of its files read by one task, no task streams it all."""
    folder = tmp_path / "hf" / "data"
    folder.mkdir(parents=True)
    texts = sentences(corpus_docs, 24)
    for i in range(4):
        part = texts[i * 6 : (i + 1) * 6]
        (folder / f"train-0000{i}-of-00004.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in part))
    out = tmp_path / "o"
    datagen(
        "build",
        "--dataset",
        str(tmp_path / "hf"),
        "--split",
        "train",
        "--out",
        str(out),
        "--tasks",
        "4",
        "--workers",
        "2",
        *FAST,
    )
    per_task = [s.get("rows_read", 0) for s in stats(out, 4)]
    assert per_task == [6, 6, 6, 6], "four files, four tasks: one file each"
    assert manifest(out)["input"]["rows_read"] == 24 and manifest(out)["input"]["files"] == 4


def test_hugging_face_data_set_of_other_files_is_read_by_shard(tmp_path, corpus_docs):
    """CSV files are not planner inputs: the data set's shards (IterableDataset.shard) go to the tasks."""
    import csv

    folder = tmp_path / "csvset"
    folder.mkdir()
    texts = sentences(corpus_docs, 12)
    for i in range(3):
        with open(folder / f"train-{i}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text"])
            w.writerows([t] for t in texts[i * 4 : (i + 1) * 4])
    out = tmp_path / "o"
    datagen(
        "build",
        "--dataset",
        str(folder),
        "--split",
        "train",
        "--out",
        str(out),
        "--tasks",
        "3",
        "--workers",
        "2",
        *FAST,
    )
    assert [s.get("rows_read", 0) for s in stats(out, 3)] == [4, 4, 4]
    assert manifest(out)["input"]["rows_read"] == 12


def test_urls_for_input_and_output(tmp_path, small_corpus):
    """Inputs and output given as fsspec URLs (file:// here; s3:// takes the same code path) are listed,
    read and written through fsspec, never os.path."""
    out = tmp_path / "url-out"
    datagen(
        "build", "--input", f"file://{small_corpus}", "--out", f"file://{out}", "--tasks", "2", "--workers", "2", *FAST
    )
    m = manifest(out)
    assert m["config"]["out"] == f"file://{out}" and m["input"]["rows_read"] == 18
    assert len(rows(out)) == m["counts"]["chunks"] and all(s["path"].startswith("data/") for s in m["shards"])
    again = datagen(
        "build", "--input", f"file://{small_corpus}", "--out", f"file://{out}", "--tasks", "2", "--workers", "2", *FAST
    )
    assert "chunks" in again.stdout
    shown = datagen("show", f"file://{out}", "--n", "1").stdout
    assert "rung 0" in shown and f"{m['counts']['chunks']} chunks" in shown


def test_hugging_face_folder_without_the_text_column_is_named(tmp_path):
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "train.jsonl").write_text(json.dumps({"body": "some text here."}) + "\n")
    proc = datagen("build", "--dataset", str(folder), "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2 and "--text-column" in proc.stderr and "train.jsonl" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_small_compressed_file_is_unpacked_once_and_split(tmp_path, corpus_docs):
    """A .jsonl.gz larger than a task's share but small: the driver unpacks it once into the logs and cuts
    the copy at lines, so every task works; ids stay `<file>:<line>` as when it is read whole."""
    import gzip

    src = tmp_path / "noid.jsonl.gz"
    texts = sentences(corpus_docs, 200)
    src.write_bytes(gzip.compress("".join(json.dumps({"text": t}) + "\n" for t in texts).encode()))
    one, four = tmp_path / "one", tmp_path / "four"
    datagen("build", "--input", str(src), "--out", str(one), "--tasks", "1", "--workers", "1", *FAST)
    datagen("build", "--input", str(src), "--out", str(four), "--tasks", "4", "--workers", "2", *FAST)
    assert rows(one) == rows(four)
    assert {r["doc_id"] for r in rows(one)} <= {f"{src}:{n}" for n in range(1, 201)}
    per_task = [s.get("rows_read", 0) for s in stats(four, 4)]
    assert all(per_task) and sum(per_task) == 200, per_task
    assert len(list((four / "logs" / "unpacked").iterdir())) == 1 and not (one / "logs" / "unpacked").exists()
