"""Writing files so that nothing is ever left half-written, and folders that one process at a time may write.

`write_atomic` writes beside the target under a temporary name and renames it into place: a reader, or
a rerun after a crash or a full disk, sees the old file or the new one, never part of one. `lock` holds
an exclusive lock on a folder for as long as a command writes into it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from pathlib import Path


class DamagedFile(ValueError):
    """A file of ours that cannot be read back (cut, bytes flipped): the message names it."""


@contextlib.contextmanager
def damaged(
    path: str | Path, what: str = "Parquet shard", fix: str = "rebuild the ladders (datagen build ... --force)"
):
    """Reading `path`: what pyarrow or the OS cannot read becomes a DamagedFile naming it and the fix."""
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowException, OSError, EOFError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise DamagedFile(f"{path}: a damaged {what} ({first}); {fix}") from None


class Locked(RuntimeError):
    """Another process holds the folder's lock."""


def write_atomic(path: str | Path, data: bytes | str, fs=None) -> None:
    """Write `data` to `path` through a temporary name and a rename; `fs`: an fsspec filesystem (default:
    the local one). On an object store, where a rename is a copy, at least never a half-written object."""
    mode = "wb" if isinstance(data, bytes) else "w"
    tmp = f"{path}.tmp-{os.getpid()}"
    if fs is None:
        try:
            with open(tmp, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return
    with fs.open(tmp, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
        f.write(data)
    fs.mv(tmp, str(path))


def read_json(folder, name: str):
    """The JSON document `name` in `folder` (a datatrove DataFolder: local or fsspec), None where it is absent."""
    if not folder.exists(name):
        return None
    with folder.open(name, "rt", encoding="utf-8") as f:
        return json.load(f)


def jsonl_records(path: Path) -> list[dict]:
    """The records of a JSON-lines file; a torn last line (a process killed while writing it) is left out."""
    import json

    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for i, line in enumerate(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            if i < len(lines) - 1:
                raise ValueError(f"{path}: line {i + 1} is not JSON (a damaged file)") from None
    return out


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a finished folder into place (a folder of that name before it is removed first)."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def lock(folder: str | Path, what: str):
    """An exclusive lock on `folder` (its `.lock` file) while the block runs; Locked at once when another
    process holds it. Local folders only: a URL (s3://…) is not locked."""
    if "://" in str(folder):
        yield
        return
    import fcntl

    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / ".lock"
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise Locked(
                f"{folder}: {what} already writes here ({holder}); wait for it to end, or choose another folder"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)
