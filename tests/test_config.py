from __future__ import annotations

import pytest

from datagen.config import BuildConfig
from textladder.config import ConfigError, load, parse_override


def test_yaml_then_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("max_words: 300\nladder:\n  levels: 6\n  temperature: 2\n")
    cfg = load(BuildConfig, f, dict([parse_override("ladder.variants=3"), parse_override("engine=ray")]))
    assert (cfg.max_words, cfg.ladder.levels, cfg.ladder.variants, cfg.engine) == (300, 6, 3, "ray")
    assert cfg.ladder.temperature == 2.0 and isinstance(cfg.ladder.temperature, float)


@pytest.mark.parametrize(
    "yaml_text, named",
    [
        ("max_word: 3\n", "unknown key max_word"),
        ("ladder:\n  level: 3\n", "unknown key ladder.level"),
        ("max_words: many\n", "max_words must be int"),
        ("max_words: true\n", "max_words must be int"),
        ("engine: spark\n", "engine must be one of"),
        ("ladder: 3\n", "ladder must be a section"),
        ("val_fraction: 1.5\n", "val_fraction=1.5"),
        ("ladder:\n  schedule: cosine\n", "schedule='cosine'"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, yaml_text, named):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml_text)
    with pytest.raises(ConfigError) as e:
        load(BuildConfig, f)
    assert named in str(e.value) and str(f) in str(e.value)


def test_bad_override_is_named():
    with pytest.raises(ConfigError, match="ladder.levels must be int"):
        load(BuildConfig, None, dict([parse_override("ladder.levels=x")]))
    with pytest.raises(ConfigError, match="not key=value"):
        parse_override("levels")
