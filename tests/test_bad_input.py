"""Bad documents never crash a build: each gets a valid ladder or is skipped and counted by reason."""

from __future__ import annotations

import json
import random

from compressors import check
from tests.conftest import datagen, rows


def bad_corpus(path, corpus_docs) -> dict[str, str]:
    rng = random.Random(0)
    words = corpus_docs[0]["text"].split()
    docs = {
        "empty": "",
        "whitespace": "   \n\n\t  \n",
        "no_punctuation": " ".join(rng.choice(words).strip(".,;!?") for _ in range(400)),
        "one_sentence": "The quick brown fox jumps over the lazy dog near the quiet river bank today.",
        "all_stopwords": "the and of to it was is a an the of and " * 20,
        "numbers": " ".join(str(rng.randint(0, 10**6)) for _ in range(300)),
        "chinese": "这是一支笔。那是一本书。我们在学习中文。今天天气很好。" * 20,
        "russian": "Это простое предложение. Москва большой город. Мы читаем книги каждый день. " * 20,
        "arabic": "هذه جملة بسيطة. القاهرة مدينة كبيرة. نحن نقرأ الكتب كل يوم. " * 20,
        "megabyte_line": " ".join(rng.choice(words).strip(".,;!?") for _ in range(180_000))[:1_000_000],
        "tiny": "Hi.",
        "punctuation": "... !!! ??? ;;; ---",
        "normal": corpus_docs[1]["text"],
    }
    lines = [json.dumps({"id": k, "text": v}).encode() for k, v in docs.items()]
    lines.insert(3, b'{"id": "not json", "text": ')
    lines.insert(5, json.dumps({"id": "no_text", "body": "x"}).encode())
    lines.insert(6, json.dumps({"id": "number_text", "text": 42}).encode())
    lines.insert(
        7,
        b'{"id": "latin1", "text": "caf\xe9 cr\xe8me br\xfbl\xe9e is a dessert. '
        b'It is served cold in many caf\xe9s of Paris."}',
    )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return docs


def test_bad_documents_are_laddered_or_counted(tmp_path, corpus_docs):
    src = tmp_path / "bad.jsonl"
    docs = bad_corpus(src, corpus_docs)
    out = tmp_path / "out"
    proc = datagen("build", "--input", str(src), "--out", str(out), "--levels", "4", "--workers", "2")
    assert "Traceback" not in proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    got = rows(out)
    for r in got:
        for lad in r["ladders"]:
            check([r["text"], *lad])
    laddered = {r["doc_id"] for r in got}
    assert {"normal", "no_punctuation", "megabyte_line", "russian", "latin1"} <= laddered
    assert not {"empty", "whitespace", "all_stopwords", "tiny", "punctuation"} & laddered
    counts = manifest["counts"]
    assert counts["documents"] == len(docs) + 4
    assert counts["invalid_utf8_documents"] == 1
    skipped = manifest["skipped"]
    assert skipped["missing_text"] == 3  # bad JSON, no text key, a number
    assert skipped["empty"] >= 2 and skipped["no_content_words"] >= 1 and skipped["too_short"] >= 1
    # a megabyte on one line is cut into chunks of at most --max-words words
    mega = [r for r in got if r["doc_id"] == "megabyte_line"]
    assert len(mega) > 500 and all(len(r["text"].split()) <= 256 for r in mega)
