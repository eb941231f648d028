"""`sample eval`: is ladder expansion divergent? The same measurements for every model, side by side.

Per step, teacher-forced on held-out ladders: loss (nats per token) and bits per byte of the target, next
to the copy-the-input baseline, and chrF of one sampled expansion against the reference rung. Whole
chains from top rungs to text, N samples per seed, at each temperature: diversity (distinct-1/2/4,
self-BLEU), keyword coverage, length, and quality as the loss of the final texts under a judge LM.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sample import metrics as M
from sample.expand import Decoding, expand_seeds, step_once
from sample.load import load, resolve


@dataclass(frozen=True)
class EvalSettings:
    models: list[str]
    judge: str
    data: str = "ladders/default-L4"
    split: str = "val"
    seeds: int = 8  # top rungs of held-out chunks to expand
    num: int = 4  # samples per seed
    temperatures: list[float] = field(default_factory=lambda: [0.7, 1.0, 1.3])
    top_p: float = 0.95
    teacher_batches: int = 4  # per step, of 16 pairs
    chrf_pairs: int = 16  # one-step expansions per step scored with chrF
    rng_seed: int = 0
    device: str = "cpu"
    max_new_tokens: int | None = None  # None: each step's limit recorded at export


def _bytes(texts) -> int:
    return sum(len(t.encode("utf-8")) for t in texts)


def _limits(info: dict) -> tuple[int, int]:
    return info.get("max_source_tokens", 512), info.get("max_target_tokens", 512)


def teacher_forced(model, tok, val: dict, copy: dict, limits: tuple[int, int]) -> dict:
    """Per step: loss and bits per byte of the model and of the copy baseline on the same pairs."""
    import torch

    from train.data import collate
    from train.loop import forward

    out = {}
    for k, batches in val.items():
        nats, tokens = 0.0, 0
        with torch.no_grad():
            for b in batches:
                _, sums = forward(model, collate(b, tok, *limits, not model.config.is_encoder_decoder))
                nats, tokens = nats + sums[k][0], tokens + sums[k][1]
        text_bytes = _bytes(p.target for b in batches for p in b)
        copy_nats, copy_tokens = copy[k]
        out[str(k)] = {"loss": nats / tokens, "bits_per_byte": M.bits_per_byte(nats, text_bytes),
                       "copy_loss": copy_nats / copy_tokens, "copy_bits_per_byte": M.bits_per_byte(copy_nats, text_bytes),
                       "pairs": sum(map(len, batches))}
    return out


def judge_scores(judge, jtok, texts: list[str], limits: tuple[int, int]) -> tuple[float, float]:
    """(nats per token, bits per byte) of `texts` under the judge LM."""
    import torch

    from train.data import Pair, collate
    from train.loop import forward

    nats, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(texts), 16):
            batch = collate([Pair(0, "", t) for t in texts[i : i + 16]], jtok, *limits, causal=True)
            _, sums = forward(judge, batch)
            nats, tokens = nats + sums[0][0], tokens + sums[0][1]
    return nats / max(tokens, 1), M.bits_per_byte(nats, _bytes(texts))


def chain_metrics(per_seed: list[list[list[str]]], judge, jtok, jlimits: tuple[int, int]) -> dict:
    """Diversity within each seed's samples, coverage, length and judge quality of the final texts."""
    finals = [[t[-1] for t in samples] for samples in per_seed]
    cover = [M.coverage(t) for samples in per_seed for t in samples]
    depth = len(cover[0])
    loss, bpb = judge_scores(judge, jtok, [f for fs in finals for f in fs], jlimits)
    return {
        **{f"distinct_{n}": M.mean([M.distinct_n(fs, n) for fs in finals]) for n in (1, 2, 4)},
        "self_bleu": M.mean([M.self_bleu(fs) for fs in finals]),
        "seed_coverage": M.mean([c[0] for c in cover]),
        "coverage_by_rung": [M.mean([c[i] for c in cover]) for i in range(depth)],
        "length_words": M.mean([float(len(M.words(f))) for fs in finals for f in fs]),
        "judge_loss": loss,
        "judge_bits_per_byte": bpb,
        "example": per_seed[0][0],
    }


def training_tokens(folder: Path) -> int | None:
    metrics = folder.parent / "metrics.jsonl"
    if not metrics.exists():
        return None
    seen = [json.loads(line).get("tokens_seen") for line in metrics.read_text(encoding="utf-8").splitlines()]
    return max([s for s in seen if s is not None] or [0]) or None


def evaluate_model(path: str, s: EvalSettings, val_files, seeds: list[str], judge, bar) -> dict:
    import torch

    from train.baseline import copy_totals
    from train.data import val_batches

    folder = resolve(path)
    model, tok, info = load(folder, s.device)
    task, levels = info.get("task", "ladder"), info["levels"]
    val = val_batches(val_files, 16, s.teacher_batches, task)
    flat = {k: [p for b in bs for p in b] for k, bs in val.items()}
    result = {"name": folder.parent.name if folder.name == "export" else folder.name, "path": str(folder),
              "task": task, "causal": info.get("causal", False), "levels": levels,
              "parameters": sum(p.numel() for p in model.parameters()), "training_tokens": training_tokens(folder),
              "teacher_forced": teacher_forced(model, tok, val, copy_totals(flat, tok, *_limits(info)), _limits(info))}
    bar.update(1)
    torch.manual_seed(s.rng_seed)
    chrf = {}
    for k, pairs in flat.items():
        pairs = pairs[: s.chrf_pairs]
        hyps = step_once(model, tok, [p.source for p in pairs], k, Decoding(top_p=s.top_p),
                         s.max_new_tokens or info["max_new_tokens_by_step"][str(k)])
        chrf[str(k)] = M.chrf(hyps, [p.target for p in pairs])
    result["chrf_by_step"] = chrf
    bar.update(1)
    result["chains"] = {}
    for temperature in s.temperatures:
        torch.manual_seed(s.rng_seed)
        decoding = Decoding(temperature, s.top_p, max_new_tokens=s.max_new_tokens)
        per_seed = expand_seeds(model, tok, seeds, levels, num=s.num, decoding=decoding,
                                limits=info["max_new_tokens_by_step"], oneshot=task == "oneshot")
        result["chains"][str(temperature)] = chain_metrics(per_seed, *judge)
        bar.update(1)
    return result


def held_out_seeds(val_files, n: int) -> list[str]:
    """The top rung of variant 0 of the first held-out chunks, each seed once."""
    import pyarrow.parquet as pq

    seeds: list[str] = []
    for f in val_files:
        for ladders in pq.read_table(f, columns=["ladders"]).column("ladders").to_pylist():
            if ladders[0][-1] not in seeds:
                seeds.append(ladders[0][-1])
            if len(seeds) == n:
                return seeds
    return seeds


def evaluate(s: EvalSettings) -> dict:
    from tqdm import tqdm

    from train.data import shards

    val_files = shards(s.data, s.split)
    seeds = held_out_seeds(val_files, s.seeds)
    judge, jtok, jinfo = load(resolve(s.judge), s.device)
    if jinfo.get("task") != "text":
        raise ValueError(f"{s.judge}: the judge must be a language model of text (data.task: text)")
    with tqdm(total=len(s.models) * (2 + len(s.temperatures)), desc="eval", unit="part") as bar:
        models = [evaluate_model(m, s, val_files, seeds, (judge, jtok, _limits(jinfo)), bar) for m in s.models]
    judge_info = {"path": str(resolve(s.judge)), "parameters": sum(p.numel() for p in judge.parameters()),
                  "training_tokens": training_tokens(resolve(s.judge))}
    return {"settings": asdict(s), "seeds": seeds, "judge": judge_info, "models": models}


def _f(v, digits=3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def table(result: dict) -> str:
    """The terminal table, read from the same dict that eval.json holds."""
    lines = ["Teacher-forced on held-out ladders (nats per target token; bits per byte; chrF of one sampled step)",
             f"{'model':<12}{'step':>6}{'loss':>9}{'copy':>9}{'bpb':>8}{'copy bpb':>10}{'chrF':>8}"]
    for m in result["models"]:
        for k, v in m["teacher_forced"].items():
            step = f"{k}→0" if m["task"] == "oneshot" else f"{k}→{int(k) - 1}"
            lines.append(f"{m['name']:<12}{step:>6}{_f(v['loss']):>9}{_f(v['copy_loss']):>9}{_f(v['bits_per_byte']):>8}"
                         f"{_f(v['copy_bits_per_byte']):>10}{_f(m['chrf_by_step'][k], 1):>8}")
    s = result["settings"]
    lines += ["", f"Whole chains: {len(result['seeds'])} held-out seeds x {s['num']} samples, top-p {s['top_p']}; "
                  "judge loss in nats per token (lower reads as more fluent to the judge)",
              f"{'model':<12}{'temp':>5}{'dist-1':>8}{'dist-2':>8}{'dist-4':>8}{'selfBLEU':>9}{'seed kept':>10}"
              f"{'words':>7}{'judge':>8}{'params':>9}{'train tok':>10}"]
    for m in result["models"]:
        for t, c in m["chains"].items():
            lines.append(f"{m['name']:<12}{t:>5}{_f(c['distinct_1']):>8}{_f(c['distinct_2']):>8}{_f(c['distinct_4']):>8}"
                         f"{_f(c['self_bleu'], 1):>9}{_f(c['seed_coverage'], 2):>10}{_f(c['length_words'], 0):>7}"
                         f"{_f(c['judge_loss']):>8}{m['parameters'] / 1e6:>8.2f}M"
                         f"{(_f(m['training_tokens'] / 1e6, 2) + 'M') if m['training_tokens'] else '-':>10}")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for m in result["models"]:
        steps = list(m["teacher_forced"])
        a.plot(steps, [m["teacher_forced"][k]["bits_per_byte"] for k in steps], marker="o", label=m["name"])
        a.plot(steps, [m["teacher_forced"][k]["copy_bits_per_byte"] for k in steps], linestyle=":", color="grey")
        temps = list(m["chains"])
        xs = [m["chains"][t]["judge_loss"] for t in temps]
        ys = [m["chains"][t]["distinct_2"] for t in temps]
        b.plot(xs, ys, marker="o", label=m["name"])
        for t, x, y in zip(temps, xs, ys):
            b.annotate(f"T={t}", (x, y), fontsize=8)
    a.set(title="teacher-forced bits per byte by step (dotted: copy)", xlabel="step (rung k → k-1; one-shot: L → 0)",
          ylabel="bits per byte")
    a.legend()
    b.set(title="diversity against quality across temperatures", xlabel="judge loss of final texts (nats/token, lower is better)",
          ylabel="distinct-2 within a seed's samples (higher is more diverse)")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(s: EvalSettings, out: Path) -> dict:
    result = evaluate(s)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    plot(result, out / "eval.png")
    return result
