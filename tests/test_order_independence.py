"""A ladder depends on its chunk, document and settings only: never on worker count, input order or what
the process built before it (no module-level state decides a result). On the whole default corpus."""

from __future__ import annotations

import gzip

from datagen.read import default_corpus
from tests.conftest import datagen, rows


def test_workers_and_input_order_do_not_change_rows(tmp_path):
    with gzip.open(default_corpus(), "rt", encoding="utf-8") as f:
        lines = f.readlines()
    reversed_input = tmp_path / "reversed.jsonl"
    reversed_input.write_text("".join(reversed(lines)), encoding="utf-8")
    built = {}
    for name, extra in {
        "one": ["--workers", "1"],
        "two": ["--workers", "2"],
        "reversed": ["--workers", "2", "--input", str(reversed_input)],
    }.items():
        datagen("build", "--levels", "4", "--out", str(tmp_path / name), *extra)
        built[name] = rows(tmp_path / name)
    assert len(built["one"]) > 5000
    assert built["one"] == built["two"], "worker count changed a row"
    assert built["one"] == built["reversed"], "input order changed a row"
