"""`pack` and `unpack`: a file to a `.tlz` archive and back, byte for byte.

Valid UTF-8 is cut into model chunks (codec.layout). Each chunk is coded by the model (codec.coder, in
batches) or, when the model cannot reproduce it exactly or brotli stores it in fewer bytes, kept as
text in the side stream, which brotli compresses. Anything that is not UTF-8, or whose chunks lose a
character, and any input whose archive would come out larger than brotli's, is stored whole by brotli:
an archive is never more than its header larger than brotli -q 11 of the input. Pack decodes each
batch again (`verify`) and stores a chunk that does not come back as text. Unpack checks each chunk's
hash as its batch is decoded, so damage is reported at once.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from codec import container
from codec.coder import (
    FORWARDS,
    CoderSettings,
    Cost,
    Unfit,
    decode_batch,
    encode_batch,
    setup,
    side_by_side,
    steps_of,
    targets_of,
)
from codec.layout import Layout, cut, rebuild
from codec.lossy import LOSSY, LossySettings, pack_side, recorded, unpack_side
from codec.online import Learner, OnlineSettings
from model.export import ExportInfo, ModelError, load
from model.pairs import Pair
from textladder.files import write_atomic

CHUNK_HASH = 4  # bytes of each model-coded chunk's sha256 in the side stream


@dataclass
class PackStats:
    """What pack measured: sizes, the model's ideal bits, where chunks went."""

    input_bytes: int = 0
    archive_bytes: int = 0
    header_bytes: int = 0
    side_bytes: int = 0  # brotli of the side stream (top rungs, chunks kept as text, patch)
    coded_bytes: int = 0  # the range codes
    ideal_bits: float = 0.0  # -log2 p of every model-coded token, unquantized
    ideal_by_step: dict[int, float] = field(default_factory=dict)
    model_chunk_bytes: int = 0  # UTF-8 bytes of the chunks the model coded
    top_word_bytes: int = 0
    chunks: int = 0
    fallbacks: Counter = field(default_factory=Counter)  # reason: chunks
    per_chunk: list[dict] = field(default_factory=list)  # bytes, coded bytes, ideal bits of each chunk
    seconds: float = 0.0
    kind: str = "text"  # text, raw (brotli of the whole input), lossy
    chrf: list[float] = field(default_factory=list)  # lossy: chrF of each chunk's kept expansion
    batches: int = 0  # batches the model coded (retries included)
    candidate_bytes: int = 0  # UTF-8 bytes of every chunk the model could code, brotli's choice aside
    candidate_ideal_bits: float = 0.0  # the model's ideal code length of those chunks (its first coding)


@dataclass
class Candidate:
    """A chunk the model may code: its top rung, its pairs and their target tokens, first step first."""

    index: int
    chunk: str
    top: str
    pairs: list[Pair]
    targets: list[list[int]]


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=None, dynamic_ncols=True, leave=False)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[: container.HASH_HEX]


def _chunk_hash(chunk: str) -> bytes:
    return hashlib.sha256(chunk.encode("utf-8")).digest()[:CHUNK_HASH]


def _brotli_size(data: bytes) -> int:
    import brotli

    return len(brotli.compress(data, quality=11))


def check_model(header: container.Header, folder: Path) -> None:
    """CodecError (exit 2) unless `folder` is the model the archive was packed with."""
    found = container.model_identity(folder)
    for key in ("model_sha256", "tokenizer_sha256", "lexicon_sha256"):
        if key in header.model and found[key] != header.model[key]:  # archives before lexicons record none
            what = key.split("_")[0]
            raise container.CodecError(
                f"{folder}: not the model this archive was packed with ({what} hash "
                f"{found[key][:12]}…, the archive needs {header.model[key][:12]}… from "
                f"{header.model['path']}); pass that model with --model"
            )


def check_output(out: Path, inputs: list[Path], force: bool) -> None:
    """Before any work: the output's folder exists, the output is no input, and it is new unless `force`."""
    if not out.parent.exists():
        raise container.CodecError(f"{out}: its folder {out.parent} does not exist (-o)")
    if out.exists() and any(out.resolve() == i.resolve() for i in inputs if i.exists()):
        raise container.CodecError(f"{out}: that is the input itself: choose another -o")
    if out.is_dir():
        raise container.CodecError(f"{out}: a folder (-o names a file)")
    if out.exists() and not force:
        raise container.CodecError(f"{out}: exists; pass --force to write over it")


def _candidates(layout: Layout, tok, info: ExportInfo, stats: PackStats) -> list[Candidate]:
    """The chunks the model may code; the others are counted by reason in stats.fallbacks."""
    out = []
    for i, chunk in enumerate(layout.chunks):
        try:
            top, pairs = steps_of(chunk, info, layout.text)
            out.append(Candidate(i, chunk, top, pairs, targets_of(tok, info, pairs)))
        except Unfit as e:
            stats.fallbacks[str(e).split(":")[-1].strip()] += 1
    return out


def _model_bytes(words: np.ndarray, top: str) -> int:
    """What a model-coded chunk costs: its range code, its top rung, its hash and two varints."""
    return 4 * len(words) + len(top.encode("utf-8")) + CHUNK_HASH + 3


def _code(
    model,
    tok,
    info: ExportInfo,
    queue: list[Candidate],
    settings: CoderSettings,
    limits: dict[int, int],
    stats: PackStats,
    learner: Learner | None,
    bar,
    give_up=None,
) -> dict[int, tuple[np.ndarray, Cost]] | None:
    """Code the candidates in batches of settings.batch, in order; a chunk that cannot be coded, does not
    come back (verify) or costs more than brotli leaves the queue and its batch is coded again without it.
    `settings.threads` batches are coded side by side (not with online learning, which goes batch by
    batch); the results after a batch that loses a chunk are coded again, as the batches shift.
    give_up(coded): called before the last batch is coded again, with every chunk's code as measured;
    True ends the coding (None comes back) where the archive would not beat brotli of the whole input."""
    coded, start, measured = {}, 0, set()
    ahead: list = []  # results of the batches coded side by side, in order
    while start < len(queue):
        batch = queue[start : start + settings.batch]
        if not ahead:
            width = 1 if learner is not None else settings.threads
            batches = [queue[i : i + settings.batch] for i in range(start, len(queue), settings.batch)][:width]
            ahead = side_by_side(
                lambda b: encode_batch(
                    model, tok, info, [c.pairs for c in b], [c.targets for c in b], limits, settings.forward
                ),
                batches,
                settings.threads,
            )
        codes, costs, bad = ahead.pop(0)
        stats.batches += 1
        for r, c in enumerate(batch):
            if r not in bad and c.index not in measured:
                measured.add(c.index)
                stats.candidate_bytes += len(c.chunk.encode("utf-8"))
                stats.candidate_ideal_bits += sum(costs[r].by_step.values()) + 8 * len(c.top.encode("utf-8"))
            if (
                r not in bad
                and settings.brotli
                and _model_bytes(codes[r], c.top) >= _brotli_size(c.chunk.encode("utf-8"))
            ):
                bad[r] = "brotli is smaller"
        if settings.verify and not bad:
            chains = decode_batch(model, tok, info, [c.top for c in batch], codes, limits, settings.forward)
            bad = {r: "round trip differs (verify)" for r, c in enumerate(batch) if chains[r][-1].target != c.chunk}
        if bad:
            for r in bad:
                stats.fallbacks[bad[r].split(":")[-1].strip()] += 1
            drop = {batch[r].index for r in bad}
            kept = {c.index: (codes[r], costs[r]) for r, c in enumerate(batch) if r not in bad}
            if give_up is not None and start + len(batch) == len(queue) and give_up(coded | kept):
                return None
            queue[start:] = [c for c in queue[start:] if c.index not in drop]
            ahead = []  # the batches after this one are not the ones coded ahead
            continue
        for r, c in enumerate(batch):
            coded[c.index] = (codes[r], costs[r])
        if learner is not None:  # unpack takes the same step after decoding this batch
            learner.learn([p for c in batch for p in c.pairs])
        start += len(batch)
        bar.update(sum(len(c.chunk.encode("utf-8")) for c in batch))
    return coded


def _text_side(
    layout: Layout,
    coded: dict[int, tuple[np.ndarray, Cost]],
    tops: dict[int, str],
    stats: PackStats,
    side: bytearray,
    codes: list[np.ndarray],
) -> None:
    container.put_uint(side, container.TEXT)
    container.put_uint(side, len(layout.chunks))
    for i, chunk in enumerate(layout.chunks):
        size = len(chunk.encode("utf-8"))
        if i in coded:
            words, cost = coded[i]
            container.put_uint(side, container.MODEL)
            container.put_bytes(side, tops[i].encode("utf-8"))
            container.put_uint(side, len(words))
            side += _chunk_hash(chunk)
            codes.append(words)
            _count(stats, size, tops[i], words, cost)
        else:
            container.put_uint(side, container.FALLBACK)
            container.put_bytes(side, chunk.encode("utf-8"))
            stats.per_chunk.append({"bytes": size, "model": False, "fallback_brotli": _brotli_size(chunk.encode())})
    container.put_uint(side, len(layout.patch))
    prev = 0
    for key, run in layout.patch:
        container.put_uint(side, key - prev)
        container.put_bytes(side, run.encode("utf-8"))
        prev = key


def _count(stats: PackStats, size: int, top: str, words: np.ndarray, cost: Cost) -> None:
    bits = sum(cost.by_step.values())
    stats.ideal_bits += bits
    for k, b in cost.by_step.items():
        stats.ideal_by_step[k] = stats.ideal_by_step.get(k, 0.0) + b
    stats.model_chunk_bytes += size
    stats.top_word_bytes += len(top.encode("utf-8"))
    stats.per_chunk.append(
        {"bytes": size, "model": True, "coded": 4 * len(words), "ideal_bits": bits, "top": len(top.encode("utf-8"))}
    )


def _step_limits(cands: list[Candidate]) -> dict[int, int]:
    """Per step, the most tokens any candidate's target holds: the bound unpack decodes each step within."""
    limits: dict[int, int] = {}
    for c in cands:
        for p, t in zip(c.pairs, c.targets):
            limits[p.step] = max(limits.get(p.step, 1), len(t))
    return limits


def _pack_text(
    layout: Layout,
    data: bytes,
    loaded: tuple,
    settings: CoderSettings,
    online: OnlineSettings | None,
    stats: PackStats,
    side: bytearray,
    codes: list[np.ndarray],
    header_of,
) -> dict:
    """The lossless side stream and range codes of `layout` into `side` and `codes`; none where brotli of
    the whole input is sure to be smaller (stats.kind "raw"). Returns the header's settings for unpack."""
    model, tok, info = loaded
    cands = _candidates(layout, tok, info, stats)
    limits = _step_limits(cands)
    learner = Learner(model, tok, info, online) if online is not None else None
    extra = {"limits": {str(k): v for k, v in limits.items()}}
    extra |= {"online": asdict(online)} if online is not None else {}
    header, tops = header_of(extra), {c.index: c.top for c in cands}

    def give_up(coded) -> bool:  # the archive of the codes measured so far is no smaller than brotli's
        return settings.brotli and not _beats_raw(layout, coded, tops, header, data)

    with _bar(stats.input_bytes, "pack") as bar:
        coded = _code(model, tok, info, list(cands), settings, limits, stats, learner, bar, give_up)
    if coded is None:
        stats.kind = "raw"
    else:
        _text_side(layout, coded, tops, stats, side, codes)
    return extra


def pack(
    src: Path,
    out: Path,
    folder: Path,
    settings: CoderSettings = CoderSettings(),
    lossy: LossySettings | None = None,
    online: OnlineSettings | None = None,
    force: bool = False,
) -> PackStats:
    """Pack `src` into `out` with the model in export folder `folder` (lossy as LLMPack when `lossy` is given,
    adapting the model as NNCP when `online` is)."""
    start = time.perf_counter()
    check_output(out, [src], force)
    data = _read(src)
    info = ExportInfo.read(folder)
    if lossy is not None:
        lossy.check(info)
    stats = PackStats(input_bytes=len(data))
    side, codes, extra = bytearray(), [], {}
    header_of = functools.partial(_header, len(data), _sha(data), container.model_identity(folder), settings)
    layout = _layout(data, info)
    if layout is not None and any(layout.chunks):
        setup()
        model, tok, info = load(folder, "cpu", settings.precision)  # its lexicon too: lossy draws use it
        if lossy is None:
            extra = _pack_text(layout, data, (model, tok, info), settings, online, stats, side, codes, header_of)
        else:
            stats.kind = "lossy"
            with _bar(stats.input_bytes, "pack --lossy") as bar:
                stats.chrf = pack_side(layout.chunks, model, tok, info, lossy, side, bar, layout.text)
            extra = {"lossy": asdict(lossy)}
        stats.chunks = len(layout.chunks)
    else:
        stats.kind = "raw"
    header = header_of(extra)
    words = _words(codes)
    blob = container.archive(header, bytes(side), words) if stats.kind != "raw" else b""
    raw = _raw(header, data)
    if stats.kind != "lossy" and (not blob or (settings.brotli and len(raw) <= len(blob))):
        blob, words, stats.kind = raw, b"", "raw"  # brotli of the whole input is smaller: never worse than it
    write_atomic(out, blob)
    stats.archive_bytes, stats.coded_bytes, stats.header_bytes = len(blob), len(words), container.header_size(blob)
    stats.side_bytes = stats.archive_bytes - stats.coded_bytes - stats.header_bytes
    stats.seconds = time.perf_counter() - start
    return stats


def _header(size: int, sha: str, identity: dict, settings: CoderSettings, extra: dict) -> container.Header:
    return container.Header(size, sha, identity, container.versions(), {**settings.as_dict(), **extra})


def _words(codes: list[np.ndarray]) -> bytes:
    return np.concatenate(codes).astype("<u4").tobytes() if codes else b""


def _beats_raw(layout: Layout, coded: dict, tops: dict[int, str], header: container.Header, data: bytes) -> bool:
    """Whether the archive of these codes (the chunks without one kept as text) is smaller than the one
    that holds brotli's code of the whole input."""
    side, codes = bytearray(), []
    _text_side(layout, coded, tops, PackStats(), side, codes)
    return len(container.archive(header, bytes(side), _words(codes))) < len(_raw(header, data))


def _raw(header: container.Header, data: bytes) -> bytes:
    """The archive that holds brotli's code of the whole input."""
    return container.archive(header, bytes([container.RAW]) + data, b"")


def _read(src: Path) -> bytes:
    try:
        return src.read_bytes()
    except OSError as e:
        raise container.CodecError(f"{src}: cannot read ({e.strerror})") from e


def _layout(data: bytes, info: ExportInfo) -> Layout | None:
    """The text's chunks and patch; None for input that is not UTF-8 or that chunks would not rebuild."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return cut(text, info.max_words or 256)


def unpack(
    archive: Path, out: Path, folder: Path | None = None, threads: int | None = None, force: bool = False
) -> float:
    """Rebuild the original of `archive` into `out` (with `folder`, else the model named in the header); seconds.

    threads: batches decoded side by side (default: as packed); the bytes are the same for any count."""
    start = time.perf_counter()
    check_output(out, [archive], force)
    header, side, words = container.read(archive)
    folder = folder or Path(header.model["path"])
    if not (folder / "ladder.json").exists():
        raise container.CodecError(f"{folder}: the model to unpack {archive} is not there (pass it with --model)")
    check_model(header, folder)
    reader = container.Reader(side)
    kind = reader.uint()
    if kind == LOSSY:
        write_atomic(out, _unpack_lossy(reader, folder, header, archive, threads).encode("utf-8"))
        return time.perf_counter() - start
    if kind == container.RAW:
        data = reader.rest()
    else:
        data = _unpack_text(reader, words, folder, header, archive, threads).encode("utf-8")
    if len(data) != header.size or _sha(data) != header.sha256:
        raise container.CodecError(
            f"{archive}: unpacked bytes differ from the original (damaged archive or another "
            "machine or library version)"
        )
    write_atomic(out, data)
    return time.perf_counter() - start


def _coder_settings(header: container.Header, threads: int | None, archive: Path) -> CoderSettings:
    known = {"forward": "hf"}  # what archives packed before the T5 step coded with; they record none
    known |= {k: v for k, v in header.settings.items() if k in CoderSettings.__dataclass_fields__}
    if known["forward"] not in FORWARDS:
        raise container.CodecError(
            f"{archive}: damaged archive: forward {known['forward']!r} is none of {', '.join(FORWARDS)}"
        )
    settings = CoderSettings(**known)
    return settings if threads is None else CoderSettings(**{**known, "threads": threads})


def _unpack_lossy(
    reader: container.Reader, folder: Path, header: container.Header, archive: Path, threads: int | None
) -> str:
    settings = _coder_settings(header, threads, archive)
    setup()
    model, tok, info = load(folder, "cpu", settings.precision)
    with _bar(header.size, "unpack --lossy") as bar:
        return unpack_side(reader, model, tok, info, recorded(header.settings["lossy"], archive), bar)


def _read_chunks(reader: container.Reader, words: np.ndarray, archive: Path) -> list:
    """The side stream's chunks: text, or (top rung, range code, hash) for a model-coded one."""
    chunks, pos = [], 0
    for _ in range(reader.uint()):
        if reader.uint() == container.FALLBACK:
            chunks.append(reader.bytes().decode("utf-8"))
            continue
        top, n = reader.bytes().decode("utf-8"), reader.uint()
        digest = reader.data[reader.pos : reader.pos + CHUNK_HASH]
        reader.pos += CHUNK_HASH
        if pos + n > len(words):
            raise container.CodecError(
                f"{archive}: damaged archive: the range codes end {4 * (pos + n - len(words))} "
                f"bytes short of chunk {len(chunks)} (a cut file?)"
            )
        chunks.append((top, words[pos : pos + n], digest))
        pos += n
    if pos != len(words):
        raise container.CodecError(
            f"{archive}: damaged archive: {4 * (len(words) - pos)} bytes past the last range code"
        )
    return chunks


def _unpack_text(
    reader: container.Reader, words: bytes, folder: Path, header: container.Header, archive: Path, threads: int | None
) -> str:
    settings = _coder_settings(header, threads, archive)
    limits = {int(k): v for k, v in header.settings.get("limits", {}).items()}
    chunks = _read_chunks(reader, np.frombuffer(words, dtype="<u4").astype(np.uint32), archive)
    patch, key = [], 0
    for _ in range(reader.uint()):
        key += reader.uint()
        patch.append((key, reader.bytes().decode("utf-8")))
    setup()
    model, tok, info = load(folder, "cpu", settings.precision)
    online = header.settings.get("online")
    learner = Learner(model, tok, info, OnlineSettings(**online)) if online else None
    coded = [i for i, c in enumerate(chunks) if isinstance(c, tuple)]
    batches = [coded[b : b + settings.batch] for b in range(0, len(coded), settings.batch)]
    width = 1 if learner is not None else max(1, settings.threads)  # online: batch by batch, as pack learned
    with _bar(header.size, "unpack") as bar:
        for w in range(0, len(batches), width):
            group = batches[w : w + width]
            decoded = side_by_side(
                lambda batch: _decode(model, tok, info, [chunks[i] for i in batch], limits, settings, batch, archive),
                group,
                width,
            )
            for batch, chains in zip(group, decoded):
                for i, chain in zip(batch, chains):
                    chunks[i] = chain[-1].target
                if learner is not None:  # the step pack took after coding this batch
                    learner.learn([p for chain in chains for p in chain])
                bar.update(sum(len(chunks[i].encode("utf-8")) for i in batch))
    return rebuild(Layout(chunks, patch))


def _decode(model, tok, info, entries, limits, settings, indices, archive) -> list[list[Pair]]:
    """A batch's chunks as decoded pairs, each chunk checked against its hash as soon as it is decoded."""
    try:
        tops, codes = [e[0] for e in entries], [e[1] for e in entries]
        chains = decode_batch(model, tok, info, tops, codes, limits, settings.forward)
    except (Unfit, ValueError, AssertionError) as e:  # the coder's complaints about a damaged code
        raise container.CodecError(
            f"{archive}: damaged archive: chunks {indices[0]}-{indices[-1]} do not decode ({e or type(e).__name__})"
        ) from e
    for i, chain, (_, _, digest) in zip(indices, chains, entries):
        if _chunk_hash(chain[-1].target) != digest:
            raise container.CodecError(
                f"{archive}: damaged archive: chunk {i} decodes to other text than was packed "
                "(or another machine or library version rounds differently)"
            )
    return chains


__all__ = ["PackStats", "pack", "unpack", "ModelError"]
