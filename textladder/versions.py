"""Versions of the packages that shape a stage's output, recorded next to what it writes."""

from __future__ import annotations

import platform
from importlib import metadata


def versions(*packages: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("textladder", *packages):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
