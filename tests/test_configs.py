"""Every config in configs/ parses and builds; large models are counted on the meta device, not allocated."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from datagen.config import BuildConfig
from model import parameter_count
from textladder.config import load
from train.config import TrainConfig
from train.dist import deepspeed_config, lr_lambda

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
EXPECTED_PARAMS = {
    "tiny": (1e4, 1e6),
    "cpu-demo": (1e6, 2e7),
    "cpu-demo-rewrite": (1e6, 2e7),
    "small": (3e7, 2e8),
    "base": (1e8, 6e8),
    "xl": (1e9, 1e10),
    "oneshot": (1e6, 2e7),
    "ar": (1e6, 2e7),
    "judge": (1e6, 2e7),
}


def test_every_config_is_checked():
    assert {p.stem for p in CONFIGS} == {*EXPECTED_PARAMS, "datagen"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_parses_and_builds(path):
    if path.stem == "datagen":
        assert load(BuildConfig, path) == BuildConfig()
        return
    cfg = load(TrainConfig, path)
    low, high = EXPECTED_PARAMS[path.stem]
    n = parameter_count(cfg.model, cfg.tokenizer.vocab_size)
    assert low < n < high, f"{path.stem}: {n / 1e6:.1f} M parameters"
    assert cfg.deepspeed.precision == "auto"  # every shipped config fits the machine it runs on
    ds = deepspeed_config(replace(cfg.deepspeed, precision="bf16"), cfg.optimizer)
    assert ds["zero_optimization"]["stage"] == cfg.deepspeed.zero_stage and ds["bf16"]["enabled"]
    with pytest.raises(ValueError, match="resolve it first"):
        deepspeed_config(cfg.deepspeed, cfg.optimizer)
    factor = lr_lambda(cfg.schedule)
    assert factor(0) > 0 and abs(factor(cfg.schedule.warmup_steps) - 1.0) < 1e-9
    assert factor(cfg.schedule.max_steps) == pytest.approx(cfg.schedule.min_lr_ratio)
    assert cfg.hardware != "any"


def test_cpu_demo_reads_the_bare_datagen_output():
    cfg = load(TrainConfig, Path(__file__).parents[1] / "configs" / "cpu-demo.yaml")
    assert cfg.data.path == BuildConfig(ladder=BuildConfig().ladder).out_dir == "ladders/default-L4"


def test_evaluation_baselines_match_cpu_demo_and_the_judge_is_larger():
    def params(name):
        cfg = load(TrainConfig, Path(__file__).parents[1] / "configs" / f"{name}.yaml")
        return cfg, parameter_count(cfg.model, cfg.tokenizer.vocab_size)

    demo, n_demo = params("cpu-demo")
    for name, task, arch in (("oneshot", "oneshot", "t5"), ("ar", "oneshot", "gpt2")):
        cfg, n = params(name)
        assert (cfg.data.task, cfg.model.arch) == (task, arch)
        assert abs(n - n_demo) / n_demo < 0.05, f"{name}: {n} parameters against {n_demo}"
        assert cfg.tokenizer == demo.tokenizer and cfg.data.path == demo.data.path
    judge, n_judge = params("judge")
    assert judge.data.task == "text" and n_judge > 1.1 * n_demo


def test_the_rewrite_comparison_differs_from_cpu_demo_only_in_objective_and_length():
    from dataclasses import replace

    demo = load(TrainConfig, Path(__file__).parents[1] / "configs" / "cpu-demo.yaml")
    rewrite = load(TrainConfig, Path(__file__).parents[1] / "configs" / "cpu-demo-rewrite.yaml")
    assert (demo.data.objective, rewrite.data.objective) == ("infill", "rewrite")
    assert replace(rewrite, data=replace(rewrite.data, objective="infill"), schedule=demo.schedule) == demo
    assert 0.85 < rewrite.schedule.max_steps / demo.schedule.max_steps < 1  # rewrite pairs are longer in tokens
