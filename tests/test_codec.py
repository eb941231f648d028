"""`codec`: exact round trips over hostile inputs with tiny models trained in the test, a refused wrong model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codec import coder, container
from codec.coder import CoderSettings
from codec.layout import cut, rebuild
from codec.pack import pack, unpack
from tests.conftest import BIN, timed

ROOT = Path(__file__).parents[1]
TINY = str(ROOT / "configs" / "tiny.yaml")
EMMA = (
    "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite "
    "some of the best blessings of existence; and had lived nearly twenty-one years in the world with very "
    "little to distress or vex her."
)


def train(ladders: Path, out: Path, *sets: str) -> Path:
    timed(
        [
            str(BIN / "train"),
            "launch",
            TINY,
            "--out",
            str(out),
            "--set",
            f"data.path={ladders}",
            "--set",
            "schedule.max_steps=12",
            *(x for s in sets for x in ("--set", s)),
        ],
        check=True,
        capture_output=True,
    )
    return out / "export"


@pytest.fixture(scope="module")
def ladder_model(tmp_path_factory, small_ladders) -> Path:
    return train(small_ladders, tmp_path_factory.mktemp("codec") / "infill")


@pytest.fixture(scope="module")
def causal_model(tmp_path_factory, small_ladders) -> Path:
    return train(
        small_ladders,
        tmp_path_factory.mktemp("codec") / "ar",
        "model.arch=gpt2",
        "data.task=oneshot",
        "data.objective=rewrite",
    )


HOSTILE = {
    "empty": b"",
    "whitespace": b"  \n\n\t \r\n",
    "binary": bytes(range(256)) * 8,
    "invalid_utf8": EMMA.encode() + b"\xff\xfe\xc3" + EMMA.encode(),
    "one_word": b"   Hello\n",
    "controls_and_markers": (
        f"{EMMA}\x00 </s> <gap_3> <expand_1>\r\n\r\nNext  para\u00a0graph\u2028 here.\t"
        f"\U0001f600 caf\u00e9\n\n\n  {EMMA}  "
    ).encode(),
    "cut_inside_a_word": ("-".join(["word"] * 300) + ".").encode(),  # a word cut adds a space the original lacks
}


def round_trip(tmp_path: Path, data: bytes, model: Path, **settings) -> container.Header:
    src, packed, out = tmp_path / "in", tmp_path / "in.tlz", tmp_path / "out"
    src.write_bytes(data)
    pack(src, packed, model, CoderSettings(**settings), force=True)
    unpack(packed, out, force=True)
    assert out.read_bytes() == data
    return container.read(packed)[0]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_inputs_round_trip(tmp_path, ladder_model, name):
    round_trip(tmp_path, HOSTILE[name], ladder_model)


def test_corpus_text_is_coded_by_the_model(tmp_path, ladder_model, corpus_docs):
    data = corpus_docs[2]["text"][:2500].encode()
    src, packed = tmp_path / "in", tmp_path / "in.tlz"
    src.write_bytes(data)
    stats = pack(src, packed, ladder_model, CoderSettings(brotli=False))
    assert stats.kind == "text" and stats.model_chunk_bytes > 0 and stats.ideal_bits > 0
    assert set(stats.ideal_by_step) == {1, 2, 3}  # every step of the ladder was coded
    # the range coder costs little over the model's ideal code length
    assert 8 * stats.coded_bytes < stats.ideal_bits * 1.05 + 64 * stats.chunks
    unpack(packed, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == data


def test_causal_model_round_trips(tmp_path, causal_model):
    for data in (HOSTILE["controls_and_markers"], EMMA.encode() * 3):
        round_trip(tmp_path, data, causal_model)


def test_large_input_round_trips(tmp_path, ladder_model):
    """A few hundred KB of text (mostly chunks without a ladder: stopwords) and of binary."""
    text = ("the and of to a in it is was " * 12000 + "\n\n" + EMMA + "\n").encode()
    round_trip(tmp_path, text, ladder_model)
    round_trip(tmp_path, os.urandom(300_000), ladder_model)


def test_a_chunk_that_does_not_round_trip_falls_back(tmp_path, ladder_model, monkeypatch):
    import codec.pack
    from model.pairs import Pair

    real = codec.pack.decode_batch
    garbled = lambda *a, **k: [
        chain[:-1] + [Pair(chain[-1].step, chain[-1].source, "garbage")] for chain in real(*a, **k)
    ]  # noqa: E731
    monkeypatch.setattr(codec.pack, "decode_batch", garbled)
    src = tmp_path / "in"
    src.write_bytes(EMMA.encode())
    stats = pack(src, tmp_path / "in.tlz", ladder_model, CoderSettings(brotli=False))
    assert stats.fallbacks["round trip differs (verify)"] == 1 and stats.model_chunk_bytes == 0
    monkeypatch.undo()
    unpack(tmp_path / "in.tlz", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == EMMA.encode()


def rewritten(packed: Path, out: Path, **settings) -> Path:
    """A copy of archive `packed` whose header's settings are updated with `settings` (None: the key removed)."""
    import json
    import struct
    import zlib

    header, _, _ = container.read(packed)
    blob = packed.read_bytes()
    (n,) = struct.unpack_from("<I", blob, 4)
    changed = {k: v for k, v in {**header.settings, **settings}.items() if v is not None}
    head = zlib.compress(json.dumps({**header.__dict__, "settings": changed}).encode())
    out.write_bytes(blob[:4] + struct.pack("<I", len(head)) + head + blob[8 + n :])
    return out


def test_archives_from_before_the_t5_step_unpack_with_the_hf_forward(tmp_path, ladder_model, corpus_docs):
    """An archive records its forward; one that records none (packed before the T5 step) was coded by HF's."""
    data = corpus_docs[2]["text"][:1500].encode()
    src, packed = tmp_path / "in", tmp_path / "in.tlz"
    src.write_bytes(data)
    pack(src, packed, ladder_model, CoderSettings(brotli=False, forward="hf"))
    assert container.read(packed)[0].settings["forward"] == "hf"
    unpack(rewritten(packed, tmp_path / "old.tlz", forward=None), tmp_path / "out")  # as format 2 wrote it before
    assert (tmp_path / "out").read_bytes() == data
    header = round_trip(tmp_path, data, ladder_model, brotli=False)  # the default: the T5 step
    assert header.settings["forward"] == "t5-step"
    bad = rewritten(tmp_path / "in.tlz", tmp_path / "bad.tlz", forward="magic")
    with pytest.raises(container.CodecError, match="bad.tlz: damaged archive: forward 'magic'"):
        unpack(bad, tmp_path / "out2")


def test_layout_rebuilds_any_whitespace():
    for text in ["", " a ", "a\r\nb", "x\n\n\n\ny  z\t", "a\u00a0b\u2028c\n", HOSTILE["cut_inside_a_word"].decode()]:
        layout = cut(text, 8)
        assert layout is not None and rebuild(layout) == text


def test_quantized_probabilities_are_never_zero():
    import numpy as np

    p = np.zeros(1000)
    p[3] = 1.0
    q = coder.quantize(p)
    assert q.min() >= 1 and q.sum() <= coder.TOTAL


def codec(*args: str) -> subprocess.CompletedProcess:
    return timed(
        [sys.executable, "-m", "codec.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )


def test_cli_round_trip_and_wrong_model_refused(tmp_path, ladder_model, causal_model):
    src = tmp_path / "emma.txt"
    src.write_text(EMMA + "\n", encoding="utf-8")
    assert codec("pack", str(src), "-o", str(tmp_path / "a.tlz"), "--model", str(ladder_model.parent)).returncode == 0
    assert codec("unpack", str(tmp_path / "a.tlz"), "-o", str(tmp_path / "b")).returncode == 0  # model from the header
    assert (tmp_path / "b").read_bytes() == src.read_bytes()
    wrong = codec("unpack", str(tmp_path / "a.tlz"), "-o", str(tmp_path / "c"), "--model", str(causal_model))
    assert wrong.returncode == 2 and "not the model this archive was packed with" in wrong.stderr
    assert not (tmp_path / "c").exists()
    bad = codec("unpack", str(src), "-o", str(tmp_path / "d"), "--model", str(ladder_model))
    assert bad.returncode == 2 and "not a codec archive" in bad.stderr
    missing = codec("pack", str(tmp_path / "nope"), "-o", str(tmp_path / "e"), "--model", str(ladder_model))
    assert missing.returncode == 2 and "nope" in missing.stderr


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x5A]) + blob[at + 1 :]


DAMAGE = {
    "cut 8 bytes": lambda b: b[:-8],
    "cut 3 bytes": lambda b: b[:-3],
    "cut 400 bytes": lambda b: b[:-400],
    "bytes appended": lambda b: b + b"\x00\x01\x02\x03\x04",
    "a word appended": lambda b: b + b"\x00\x00\x00\x00",
    "a code byte flipped": lambda b: _flip(b, len(b) - 40),
    "a side byte flipped": lambda b: _flip(b, 60),
}


@pytest.fixture(scope="module")
def model_coded(tmp_path_factory, ladder_model) -> bytes:
    """An archive whose chunks the model codes (brotli's choice off), so damage hits the range codes."""
    folder = tmp_path_factory.mktemp("damage")
    src = folder / "emma.txt"
    src.write_text(" ".join([EMMA] * 4) + "\n", encoding="utf-8")
    assert (
        codec("pack", str(src), "-o", str(folder / "a.tlz"), "--model", str(ladder_model), "--no-brotli").returncode
        == 0
    )
    return (folder / "a.tlz").read_bytes()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_archive_is_refused_at_once_whatever_the_floats(tmp_path, model_coded, damage):
    """Any damage gives one line naming the archive, exit 2, no traceback and no output, however the
    model's floats round: the lengths, each chunk's hash and the final hash are checked, and every step
    is bounded by the limits the header records."""
    (tmp_path / "x.tlz").write_bytes(DAMAGE[damage](model_coded))
    proc = timed(
        [sys.executable, "-m", "codec.cli", "unpack", str(tmp_path / "x.tlz"), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "x.tlz" in proc.stderr and ("damaged" in proc.stderr or "differ" in proc.stderr), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_outputs_are_never_overwritten_unasked(tmp_path, ladder_model):
    src = tmp_path / "note.txt"
    src.write_bytes(b"fourteen bytes")
    for args in (["pack", str(src), "-o", str(src)], ["unpack", str(src), "-o", str(src)]):
        proc = codec(*args, "--model", str(ladder_model))
        assert proc.returncode == 2 and "the input itself" in proc.stderr and src.read_bytes() == b"fourteen bytes"
    (tmp_path / "old.tlz").write_bytes(b"keep me")
    proc = codec("pack", str(src), "-o", str(tmp_path / "old.tlz"), "--model", str(ladder_model))
    assert proc.returncode == 2 and "--force" in proc.stderr and (tmp_path / "old.tlz").read_bytes() == b"keep me"
    assert (
        codec("pack", str(src), "-o", str(tmp_path / "old.tlz"), "--model", str(ladder_model), "--force").returncode
        == 0
    )
    proc = codec("pack", str(src), "-o", str(tmp_path / "no" / "such" / "x.tlz"), "--model", str(ladder_model))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_lossy_regenerates_the_chosen_candidate(tmp_path, ladder_model, corpus_docs):
    from sacrebleu.metrics import CHRF

    from codec.lossy import LossySettings

    for name in ("empty", "binary", "invalid_utf8"):  # what is not text stays exact in lossy mode too
        src, packed = tmp_path / name, tmp_path / f"{name}.tlz"
        src.write_bytes(HOSTILE[name])
        pack(src, packed, ladder_model, lossy=LossySettings(2, 2), force=True)
        unpack(packed, tmp_path / f"{name}.out")
        assert (tmp_path / f"{name}.out").read_bytes() == HOSTILE[name]
    src, packed = tmp_path / "doc", tmp_path / "doc.tlz"
    src.write_text("Hi there\n", encoding="utf-8")  # no ladder: stored as text
    assert pack(src, packed, ladder_model, lossy=LossySettings(2, 3), force=True).chrf == [100.0]
    unpack(packed, tmp_path / "hi", force=True)
    assert (tmp_path / "hi").read_text(encoding="utf-8") == "Hi there"
    src.write_text(EMMA + "\n", encoding="utf-8")
    stats = pack(src, packed, ladder_model, lossy=LossySettings(2, 3), force=True)
    assert stats.kind == "lossy" and len(stats.chrf) == 1 and stats.archive_bytes < 600
    unpack(packed, tmp_path / "a", force=True)
    unpack(packed, tmp_path / "b", force=True)
    assert (tmp_path / "b").read_bytes() == (tmp_path / "a").read_bytes()
    assert CHRF().sentence_score((tmp_path / "a").read_text(encoding="utf-8"), [EMMA]).score == pytest.approx(
        stats.chrf[0]
    )
    with pytest.raises(container.CodecError, match="--lossy 9"):
        pack(src, packed, ladder_model, lossy=LossySettings(9, 2), force=True)


def test_lossy_archive_of_another_sampler_unpacks_with_a_warning(tmp_path, ladder_model, capsys):
    from codec.lossy import LossySettings
    from sample.decode import SAMPLER

    src, packed = tmp_path / "doc", tmp_path / "doc.tlz"
    src.write_text(EMMA + "\n", encoding="utf-8")
    pack(src, packed, ladder_model, lossy=LossySettings(2, 2))
    lossy = container.read(packed)[0].settings["lossy"]
    assert lossy["sampler"] == SAMPLER
    unpack(packed, tmp_path / "a")
    assert "warning" not in capsys.readouterr().err
    old = rewritten(packed, tmp_path / "old.tlz", lossy={k: v for k, v in lossy.items() if k != "sampler"})
    unpack(old, tmp_path / "b")
    err = capsys.readouterr().err
    assert f"old.tlz was packed with sampler 1, this code draws with {SAMPLER}" in err
    assert (tmp_path / "b").read_text(encoding="utf-8").strip()  # still an expansion of the stored rung


def test_online_round_trips_and_adapts(tmp_path, ladder_model, corpus_docs):
    from codec.online import OnlineSettings

    for name in ("empty", "invalid_utf8", "controls_and_markers"):
        src = tmp_path / name
        src.write_bytes(HOSTILE[name])
        pack(src, tmp_path / f"{name}.tlz", ladder_model, online=OnlineSettings())
        unpack(tmp_path / f"{name}.tlz", tmp_path / f"{name}.out")
        assert (tmp_path / f"{name}.out").read_bytes() == HOSTILE[name]
    data = corpus_docs[3]["text"][:3000].encode()
    (tmp_path / "doc").write_bytes(data)
    per_chunk = CoderSettings(batch=1, brotli=False)  # a step after every chunk, every chunk by the model
    static = pack(tmp_path / "doc", tmp_path / "s.tlz", ladder_model, per_chunk)
    online = pack(tmp_path / "doc", tmp_path / "o.tlz", ladder_model, per_chunk, online=OnlineSettings(lr=3e-3))
    assert static.chunks > 1 and online.ideal_bits != static.ideal_bits  # the later chunks saw another model
    header = container.read(tmp_path / "o.tlz")[0]
    assert header.settings["online"]["lr"] == 3e-3
    unpack(tmp_path / "o.tlz", tmp_path / "o.out")
    assert (tmp_path / "o.out").read_bytes() == data


def test_unpack_in_a_fresh_process_with_other_threads_gives_the_same_bytes(tmp_path, ladder_model, corpus_docs):
    """Batches of 2 chunks, packed 3 side by side, unpacked one after another (and 2 at once): each batch is
    coded on one torch thread, so the thread count never changes a probability."""
    src = tmp_path / "docs.txt"
    src.write_text("\n\n".join(d["text"] for d in corpus_docs[300:306]) + "\n", encoding="utf-8")
    packed = tmp_path / "a.tlz"
    args = ["--model", str(ladder_model), "--no-brotli", "--batch", "2", "--threads", "3", "--no-verify"]
    assert codec("pack", str(src), "-o", str(packed), *args).returncode == 0
    for threads in ("1", "2"):
        out = tmp_path / f"out-{threads}"
        proc = codec("unpack", str(packed), "-o", str(out), "--threads", threads)
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes() == src.read_bytes()


def test_pack_gives_up_coding_where_brotli_of_the_whole_input_is_smaller(tmp_path, ladder_model, corpus_docs):
    """A tiny model loses to brotli on every chunk: pack codes each chunk once (no second pass for the
    chunks that are left), stores brotli's code of the whole input, and it unpacks."""
    data = corpus_docs[2]["text"][:2500].encode()
    src, packed, out = tmp_path / "in", tmp_path / "in.tlz", tmp_path / "out"
    src.write_bytes(data)
    stats = pack(src, packed, ladder_model, CoderSettings())
    assert stats.kind == "raw" and stats.batches == 1 and stats.fallbacks["brotli is smaller"] >= 1
    unpack(packed, out)
    assert out.read_bytes() == data


def test_the_early_stop_weighs_the_archive_against_brotli_of_the_whole_input(corpus_docs):
    """`_beats_raw`, pack's test before it codes the last batch again: short codes beat brotli's whole-input
    archive, codes longer than the text do not."""
    import numpy as np

    from codec.coder import Cost
    from codec.layout import cut
    from codec.pack import _beats_raw, _header

    text = corpus_docs[2]["text"][:2500]
    layout = cut(text, 120)
    assert layout is not None and len(layout.chunks) > 1
    header, tops = _header(len(text), "0" * 16, {}, CoderSettings(), {}), dict.fromkeys(range(len(layout.chunks)), "w")

    def codes(words: int) -> dict:
        return {i: (np.zeros(words, dtype=np.uint32), Cost()) for i in range(len(layout.chunks))}

    assert _beats_raw(layout, codes(1), tops, header, text.encode())
    assert not _beats_raw(layout, codes(len(text)), tops, header, text.encode())
