"""The `.tlz` archive: a JSON header, a brotli-compressed side stream and the range-coded words.

    b"TLZ\\0" | u32 header length | zlib(header JSON) | u64 side length | brotli(side) | range-coded u32 words

The header names the format version, the model's and tokenizer's hashes, the library versions and the
coder's settings (batch size, precision, each step's token limit), so `unpack` refuses another model
instead of writing garbage and rebuilds the batches pack coded. The side stream holds what the model
does not code: the kind of input, each chunk's flag, its top rung and a hash of the chunk, or its text,
the word count of its range code, and the whitespace patch (codec.layout). Format 1 (before the rules
of model.rules and batches) is refused with a message: its probabilities can no longer be rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"TLZ\0"
FORMAT_VERSION = 2
RAW, TEXT = 0, 1  # the whole input by the fallback (binary, invalid UTF-8); text in model chunks
MODEL, FALLBACK = 0, 1  # how a chunk is coded


class CodecError(Exception):
    """A clear, user-facing failure (exit 2): wrong model, damaged archive, bad flag."""


@dataclass
class Header:
    size: int  # bytes of the original
    sha256: str  # of the original, checked after unpacking
    model: dict  # export path, hashes, task, objective, levels
    versions: dict  # library versions at packing
    settings: dict = field(default_factory=dict)  # codec.coder.CoderSettings as a dict
    format_version: int = FORMAT_VERSION


HASH_HEX = 32  # 128 bits of each sha256 kept: ample to tell models apart, half the header bytes


def file_hash(*paths: Path) -> str:
    """sha256 over the names and bytes of `paths`, cut to HASH_HEX hex digits."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes() if p.exists() else b"<missing>")
    return h.hexdigest()[:HASH_HEX]


def model_identity(folder: Path) -> dict:
    """What must match between pack and unpack: weights, architecture, ladder settings, tokenizer, lexicon."""
    return {
        "path": str(folder.resolve()),
        "model_sha256": file_hash(folder / "model.safetensors", folder / "config.json", folder / "ladder.json"),
        "tokenizer_sha256": file_hash(folder / "tokenizer.json", folder / "tokenizer_config.json"),
        "lexicon_sha256": file_hash(folder / "lexicon.txt"),  # what lossy draws are filtered by
    }


def versions() -> dict:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "machine": platform.machine()}
    for name in ("torch", "transformers", "tokenizers", "constriction"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


# --- varints, for the side stream -------------------------------------------------------------------


def put_uint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def put_bytes(out: bytearray, b: bytes) -> None:
    put_uint(out, len(b))
    out += b


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def uint(self) -> int:
        n, shift = 0, 0
        while True:
            if self.pos >= len(self.data):
                raise CodecError("damaged archive: the side stream ends early")
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return n

    def bytes(self) -> bytes:
        n = self.uint()
        if self.pos + n > len(self.data):
            raise CodecError("damaged archive: the side stream ends early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def rest(self) -> bytes:
        return self.data[self.pos :]


# --- the file ---------------------------------------------------------------------------------------


def compress_side(side: bytes) -> bytes:
    import brotli

    return brotli.compress(side, quality=11)


def archive(header: Header, side: bytes, words: bytes) -> bytes:
    """The archive's bytes."""
    # zlib: a third off the header, a fixed cost that counts on small files
    head = zlib.compress(json.dumps(header.__dict__, sort_keys=True, separators=(",", ":")).encode(), 9)
    packed = compress_side(side)
    return MAGIC + struct.pack("<I", len(head)) + head + struct.pack("<Q", len(packed)) + packed + words


def read(path: Path) -> tuple[Header, bytes, bytes]:
    """(header, side stream, range-coded words) of an archive; CodecError naming the file if it is not one."""
    import brotli

    try:
        blob = path.read_bytes()
    except OSError as e:
        raise CodecError(f"{path}: cannot read ({e.strerror})") from e
    if blob[:4] != MAGIC:
        raise CodecError(f"{path}: not a codec archive (no TLZ magic)")
    try:
        (n,) = struct.unpack_from("<I", blob, 4)
        raw = json.loads(zlib.decompress(blob[8 : 8 + n]))
        if raw.get("format_version") != FORMAT_VERSION:
            raise CodecError(
                f"{path}: archive format {raw.get('format_version')}, this codec reads {FORMAT_VERSION} "
                "(format 1 came before the decoding rules: unpack it with the textladder that packed it)"
            )
        header = Header(**raw)
        (m,) = struct.unpack_from("<Q", blob, 8 + n)
        start = 16 + n
        side = brotli.decompress(blob[start : start + m])
    except CodecError:
        raise
    except Exception as e:  # struct, json, brotli and dataclass errors all mean a damaged file
        raise CodecError(f"{path}: damaged archive ({type(e).__name__}: {e})") from e
    words = blob[start + m :]
    if len(words) % 4:
        raise CodecError(
            f"{path}: damaged archive: {len(words) % 4} bytes past the last whole code word (cut, or bytes appended)"
        )
    return header, side, words


def header_size(blob: bytes) -> int:
    """Bytes of magic, length and header at the start of an archive."""
    return 8 + struct.unpack_from("<I", blob, 4)[0]
