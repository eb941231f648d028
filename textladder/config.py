"""Typed configs: dataclasses filled from a YAML file, then from `key=value` overrides.

Every stage (datagen, train, sample) has one config dataclass. Unknown keys and values of the wrong
type are errors that name the key and where it came from (the file, or the command line).
"""

from __future__ import annotations

import dataclasses
import re
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

C = TypeVar("C")
FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|nan)", re.IGNORECASE)


class ConfigError(ValueError):
    pass


def _check(value: Any, hint: Any, key: str, where: str) -> Any:
    """`value` as type `hint`, or ConfigError naming `key` and `where`."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _check(value, arg, key, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {key}: {value!r} fits none of {hint}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(map(repr, args))}, not {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {key} must be a list, not {value!r}")
        item = args[0] if args else Any
        return [_check(v, item, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a mapping, not {value!r}")
        return {k: _check(v, args[1] if args else Any, f"{key}.{k}", where) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a section (a mapping), not {value!r}")
        return from_dict(hint, value, where, prefix=f"{key}.")
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str) and FLOAT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads 3e-4 (no dot) as a string; everyone writes it
    if hint in (int, float) and isinstance(value, bool) or not isinstance(value, hint):
        raise ConfigError(f"{where}: {key} must be {hint.__name__}, not {value!r}")
    return value


def from_dict(cls: type[C], data: dict, where: str = "config", prefix: str = "") -> C:
    """Build dataclass `cls` from a nested mapping, rejecting unknown keys and wrong types."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key {prefix}{unknown[0]} (known: {', '.join(sorted(names))})")
    values = {k: _check(v, hints[k], prefix + k, where) for k, v in data.items()}
    obj = cls(**values)
    if hasattr(obj, "validate"):
        try:
            obj.validate()
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
    return obj


def to_dict(obj: Any) -> dict:
    return dataclasses.asdict(obj)


def _set(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        tree = tree.setdefault(p, {})
        if not isinstance(tree, dict):
            raise ConfigError(f"command line: {dotted}: {p} is not a section")
    tree[leaf] = value


def parse_override(item: str) -> tuple[str, Any]:
    """`section.key=value` with the value read as YAML (so 3 is an int, true a bool, [a, b] a list)."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"command line: --set {item!r} is not key=value")
    return key.strip(), yaml.safe_load(raw) if raw.strip() else ""


def load(cls: type[C], path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> C:
    """Defaults of `cls`, then the YAML file at `path`, then `overrides` ({dotted key: value})."""
    tree: dict = {}
    where = "config"
    if path is not None:
        where = str(path)
        try:
            tree = yaml.safe_load(Path(path).read_text("utf-8"))
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
        if tree is None:
            raise ConfigError(f"{path}: the file is empty: a config names at least one key (start from configs/)")
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys")
        from_dict(cls, tree, where)  # errors in the file name the file, not the command line
    for key, value in (overrides or {}).items():
        _set(tree, key, value)
    return from_dict(cls, tree, where if not overrides else f"{where} + command line")


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}"""
    out: dict[str, Any] = {}
    for k, v in tree.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def first_difference(before: dict, now: dict, ignore: tuple[str, ...] = ()) -> tuple[str, Any, Any] | None:
    """The first dotted key (sorted) whose value differs between two nested settings, skipping `ignore` prefixes."""
    a, b = flatten(before), flatten(now)
    for key in sorted(set(a) | set(b)):
        if not key.startswith(ignore) and a.get(key) != b.get(key):
            return key, a.get(key), b.get(key)
    return None


def dump(obj: Any) -> str:
    return yaml.safe_dump(to_dict(obj), sort_keys=False)


__all__ = [
    "ConfigError",
    "dump",
    "first_difference",
    "flag_of",
    "flags",
    "flatten",
    "from_dict",
    "load",
    "parse_override",
    "to_dict",
]


def _field(cls: type, dotted: str) -> tuple[dataclasses.Field, Any]:
    """The dataclass field of config key `dotted` (a.b.c) and its type."""
    head, _, rest = dotted.partition(".")
    f = next(f for f in dataclasses.fields(cls) if f.name == head)
    hint = get_type_hints(cls)[head]
    return _field(hint, rest) if rest else (f, hint)


def flag_of(cls: type, dotted: str) -> dict:
    """argparse keyword arguments for the flag of config key `dotted`, read from its field: the help and
    metavar (`metadata`), the default, the type, choices (`metadata["choices"]` or a Literal) and nargs (a
    list). The flag's own default is None, so only flags given override the config."""
    f, hint = _field(cls, dotted)
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    shown = "" if default in (None, [], "") else f" (default {default})"
    out: dict = {"default": None, "help": f.metadata["help"] + shown}
    if "metavar" in f.metadata:
        out["metavar"] = f.metadata["metavar"]
    args = [a for a in get_args(hint) if a is not type(None)]
    base = args[0] if get_origin(hint) in (Union, types.UnionType) and len(args) == 1 else hint
    if "choices" in f.metadata or get_origin(base) is Literal:
        out["choices"] = list(f.metadata.get("choices", get_args(base)))
    elif get_origin(base) is list:
        out["nargs"] = "+"
    elif base in (int, float):
        out["type"] = base
    return out


def flags(cls: type, sections: tuple[str, ...] = ()) -> dict[str, str]:
    """flag name -> config key, for every field of `cls` and of its `sections` that has a help
    (`metadata["help"]`): the field's own name is the flag's (--levels sets ladder.levels)."""
    keys = {f.name: f.name for f in dataclasses.fields(cls) if "help" in f.metadata}
    for section in sections:
        for f in dataclasses.fields(get_type_hints(cls)[section]):
            if "help" in f.metadata:
                if f.name in keys:
                    raise ValueError(f"--{f.name} would set both {keys[f.name]} and {section}.{f.name}")
                keys[f.name] = f"{section}.{f.name}"
    return keys
