"""`pack` and `unpack`: a file to a `.tlz` archive and back, byte for byte.

Valid UTF-8 is cut into model chunks (codec.layout); each chunk is coded by the model (codec.coder)
or, when the model cannot reproduce it exactly, stored in the side stream for zstd. Anything that is
not UTF-8, or whose chunks lose a character, is stored whole by zstd. Pack decodes each chunk again
(`verify`) and falls back for one that does not come back exactly.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from codec import container as C
from codec.coder import CoderSettings, Cost, Unfit, decode_chunk, decode_steps, encode_chunk, setup
from codec.online import Learner, OnlineSettings
from codec.layout import Layout, cut, rebuild
from codec.lossy import LOSSY, LossySettings, pack_side, unpack_side
from model.export import ExportInfo, ModelError, load


@dataclass
class PackStats:
    """What pack measured: sizes, the model's ideal bits, where chunks went."""
    input_bytes: int = 0
    archive_bytes: int = 0
    header_bytes: int = 0
    side_bytes: int = 0  # zstd of the side stream (top words, fallbacks, patch)
    coded_bytes: int = 0  # the range codes
    ideal_bits: float = 0.0  # -log2 p of every model-coded token, unquantized
    ideal_by_step: dict[int, float] = field(default_factory=dict)
    model_chunk_bytes: int = 0  # UTF-8 bytes of the chunks the model coded
    top_word_bytes: int = 0
    chunks: int = 0
    fallbacks: Counter = field(default_factory=Counter)  # reason: chunks
    per_chunk: list[dict] = field(default_factory=list)  # bytes, coded bytes, ideal bits of each chunk
    seconds: float = 0.0
    kind: str = "text"  # text, raw, lossy
    chrf: list[float] = field(default_factory=list)  # lossy: chrF of each chunk's kept expansion


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=None, dynamic_ncols=True, leave=False)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[: C.HASH_HEX]


def check_model(header: C.Header, folder: Path) -> None:
    """CodecError (exit 2) unless `folder` is the model the archive was packed with."""
    found = C.model_identity(folder)
    for key in ("model_sha256", "tokenizer_sha256"):
        if found[key] != header.model[key]:
            what = key.split("_")[0]
            raise C.CodecError(f"{folder}: not the model this archive was packed with ({what} hash "
                               f"{found[key][:12]}…, the archive needs {header.model[key][:12]}… from "
                               f"{header.model['path']}); pass that model with --model")


def _code_chunk(model, tok, info, chunk: str, settings: CoderSettings, document: str):
    """(top word, words) for a chunk the model codes exactly, else Unfit with the reason."""
    try:
        top, words, cost = encode_chunk(model, tok, info, chunk, document)
        if settings.verify and decode_chunk(model, tok, info, top, words, settings.max_tokens) != chunk:
            raise Unfit("round trip differs (verify)")
    except Unfit:
        raise
    except Exception as e:  # whatever the model or coder trips on, the chunk is still stored exactly
        raise Unfit(f"model error: {type(e).__name__}") from e
    return top, words, cost


def _text_side(layout: Layout, model, tok, info, settings: CoderSettings, stats: PackStats,
               side: bytearray, codes: list[np.ndarray], learner: Learner | None) -> None:
    C.put_uint(side, C.TEXT)
    C.put_uint(side, len(layout.chunks))
    with _bar(stats.input_bytes, "pack") as bar:
        for chunk in layout.chunks:
            size = len(chunk.encode("utf-8"))
            try:
                top, words, cost = _code_chunk(model, tok, info, chunk, settings, layout.text)
            except Unfit as e:
                stats.fallbacks[str(e).split(":")[-1].strip()] += 1
                C.put_uint(side, C.FALLBACK)
                C.put_bytes(side, chunk.encode("utf-8"))
                stats.per_chunk.append({"bytes": size, "model": False, "fallback_zstd": _zstd_size(chunk)})
            else:
                C.put_uint(side, C.MODEL)
                C.put_bytes(side, top.encode("utf-8"))
                C.put_uint(side, len(words))
                codes.append(words)
                _count(stats, size, top, words, cost)
                if learner is not None:  # unpack takes the same step after decoding this chunk
                    learner.learn(cost.steps)
            bar.update(size)
    C.put_uint(side, len(layout.patch))
    prev = 0
    for key, run in layout.patch:
        C.put_uint(side, key - prev)
        C.put_bytes(side, run.encode("utf-8"))
        prev = key


def _zstd_size(chunk: str) -> int:
    import zstandard

    return len(zstandard.ZstdCompressor(level=19).compress(chunk.encode("utf-8")))


def _count(stats: PackStats, size: int, top: str, words: np.ndarray, cost: Cost) -> None:
    bits = sum(cost.by_step.values())
    stats.ideal_bits += bits
    for k, b in cost.by_step.items():
        stats.ideal_by_step[k] = stats.ideal_by_step.get(k, 0.0) + b
    stats.model_chunk_bytes += size
    stats.top_word_bytes += len(top.encode("utf-8"))
    stats.per_chunk.append({"bytes": size, "model": True, "coded": 4 * len(words), "ideal_bits": bits,
                            "top": len(top.encode("utf-8"))})


def pack(src: Path, out: Path, folder: Path, settings: CoderSettings = CoderSettings(),
         lossy: LossySettings | None = None, online: OnlineSettings | None = None) -> PackStats:
    """Pack `src` into `out` with the model in export folder `folder` (lossy as LLMPack when `lossy` is given,
    adapting the model as NNCP when `online` is)."""
    start = time.perf_counter()
    data = _read(src)
    info = ExportInfo.read(folder)
    if lossy is not None:
        lossy.check(info)
    stats = PackStats(input_bytes=len(data))
    side, codes = bytearray(), []
    layout = _layout(data, info)
    if layout is None or not any(layout.chunks):
        stats.kind = "raw"
        C.put_uint(side, C.RAW)
        side += data
    else:
        setup(settings.threads)
        model, tok, _ = load(folder, "cpu")
        if lossy is None:
            learner = Learner(model, tok, info, online) if online is not None else None
            _text_side(layout, model, tok, info, settings, stats, side, codes, learner)
        else:
            stats.kind = "lossy"
            with _bar(stats.input_bytes, "pack --lossy") as bar:
                stats.chrf = pack_side(layout.chunks, model, tok, info, lossy, side, bar, layout.text)
    stats.chunks = len(layout.chunks) if stats.kind != "raw" else 0
    extra = {"lossy": asdict(lossy)} if lossy is not None else {}
    extra |= {"online": asdict(online)} if online is not None and lossy is None else {}
    header = C.Header(len(data), _sha(data), C.model_identity(folder), C.versions(), {**settings.as_dict(), **extra})
    words = np.concatenate(codes).astype("<u4").tobytes() if codes else b""
    stats.archive_bytes = C.write(out, header, bytes(side), words)
    stats.coded_bytes = len(words)
    stats.header_bytes = C.header_size(out)
    stats.side_bytes = stats.archive_bytes - stats.coded_bytes - stats.header_bytes
    stats.seconds = time.perf_counter() - start
    return stats


def _read(src: Path) -> bytes:
    try:
        return src.read_bytes()
    except OSError as e:
        raise C.CodecError(f"{src}: cannot read ({e.strerror})") from e


def _layout(data: bytes, info: ExportInfo) -> Layout | None:
    """The text's chunks and patch; None for input that is not UTF-8 or that chunks would not rebuild."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return cut(text, info.max_words or 256)


def unpack(archive: Path, out: Path, folder: Path | None = None) -> float:
    """Rebuild the original of `archive` into `out` (with `folder`, else the model named in the header); seconds."""
    start = time.perf_counter()
    header, side, words = C.read(archive)
    folder = folder or Path(header.model["path"])
    if not (folder / "ladder.json").exists():
        raise C.CodecError(f"{folder}: the model to unpack {archive} is not there (pass it with --model)")
    check_model(header, folder)
    reader = C.Reader(side)
    kind = reader.uint()
    if kind == LOSSY:
        out.write_bytes(_unpack_lossy(reader, folder, header).encode("utf-8"))
        return time.perf_counter() - start
    data = reader.rest() if kind == C.RAW else _unpack_text(reader, words, folder, header).encode("utf-8")
    if len(data) != header.size or _sha(data) != header.sha256:
        raise C.CodecError(f"{archive}: unpacked bytes differ from the original (damaged archive or another "
                           "machine or library version)")
    out.write_bytes(data)
    return time.perf_counter() - start


def _unpack_lossy(reader: C.Reader, folder: Path, header: C.Header) -> str:
    settings = {k: v for k, v in header.settings.items() if k not in ("lossy", "online")}
    setup(CoderSettings(**settings).threads)
    model, tok, info = load(folder, "cpu")
    with _bar(header.size, "unpack --lossy") as bar:
        return unpack_side(reader, model, tok, info, LossySettings(**header.settings["lossy"]), bar)


def _unpack_text(reader: C.Reader, words: bytes, folder: Path, header: C.Header) -> str:
    settings = CoderSettings(**{k: v for k, v in header.settings.items() if k not in ("lossy", "online")})
    setup(settings.threads)
    model, tok, info = load(folder, "cpu")
    online = header.settings.get("online")
    learner = Learner(model, tok, info, OnlineSettings(**online)) if online else None
    all_words = np.frombuffer(words, dtype="<u4").astype(np.uint32)
    chunks, pos = [], 0
    with _bar(header.size, "unpack") as bar:
        for _ in range(reader.uint()):
            if reader.uint() == C.FALLBACK:
                chunks.append(reader.bytes().decode("utf-8"))
            else:
                top = reader.bytes().decode("utf-8")
                n = reader.uint()
                try:
                    steps = decode_steps(model, tok, info, top, all_words[pos : pos + n], settings.max_tokens)
                    chunks.append(steps[-1].lower)
                    if learner is not None:
                        learner.learn(steps)
                except (Unfit, ValueError) as e:  # constriction raises ValueError on an exhausted stream
                    raise C.CodecError(f"damaged archive: chunk {len(chunks)} does not decode ({e})") from e
                pos += n
            bar.update(len(chunks[-1].encode("utf-8")))
    patch, key = [], 0
    for _ in range(reader.uint()):
        key += reader.uint()
        patch.append((key, reader.bytes().decode("utf-8")))
    return rebuild(Layout(chunks, patch))


__all__ = ["PackStats", "pack", "unpack", "ModelError"]
