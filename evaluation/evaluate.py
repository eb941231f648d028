"""`sample eval`: is ladder expansion divergent, does it follow its ladder? The same measurements for every model.

Per step, teacher-forced on held-out ladders: loss (nats per target token) next to the copy-the-input
baseline, and bits per byte of the whole rung k - 1 (what the model must write given rung k, so the
`infill` and `rewrite` objectives compare); one sampled expansion per pair scored by chrF against the
reference rung, by the share of the rung above's words it keeps and by whether it holds that rung
verbatim and in order. Whole chains from top rungs to text, N samples per seed, at each temperature:
diversity (distinct-1/2/4, self-BLEU), keyword coverage, length, and quality under a judge LM.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evaluation import metrics as M
from model.align import align
from model.export import load, resolve
from model.format import collate
from model.loss import forward
from model.pairs import Pair, parquet_file, shards, val_batches
from sample.decode import Decoding
from sample.expand import expand_seeds, step_once


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


def teacher_forced(model, tok, info, val: dict, copy: dict) -> dict:
    """Per step: loss per target token and bits per byte of the whole rung k - 1, model and copy baseline."""
    import torch

    out = {}
    for k, batches in val.items():
        nats, tokens = 0.0, 0
        with torch.no_grad():
            for b in batches:
                _, sums = forward(model, collate(b, tok, info.step_format))
                nats, tokens = nats + sums[k][0], tokens + sums[k][1]
        text_bytes = _bytes(p.target for b in batches for p in b)
        copy_nats, copy_tokens = copy[k]
        out[str(k)] = {"loss": nats / tokens, "bits_per_byte": M.bits_per_byte(nats, text_bytes),
                       "copy_loss": copy_nats / copy_tokens, "copy_bits_per_byte": M.bits_per_byte(copy_nats, text_bytes),
                       "target_tokens": tokens, "pairs": sum(map(len, batches))}
    return out


def judge_scores(judge, jtok, jinfo, texts: list[str]) -> tuple[float, float]:
    """(nats per token, bits per byte) of `texts` under the judge LM."""
    import torch

    nats, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(texts), 16):
            _, sums = forward(judge, collate([Pair(0, "", t) for t in texts[i : i + 16]], jtok, jinfo.step_format))
            nats, tokens = nats + sums[0][0], tokens + sums[0][1]
    return nats / max(tokens, 1), M.bits_per_byte(nats, _bytes(texts))


def one_step(model, tok, info, flat: dict, s: "EvalSettings") -> dict:
    """Per step, one sampled expansion of the first pairs: chrF against the reference, words of the rung
    above kept, and the share of expansions that hold the rung above verbatim and in order."""
    import torch

    out = {}
    torch.manual_seed(s.rng_seed)
    for k, pairs in flat.items():
        pairs = pairs[: s.chrf_pairs]
        hyps = step_once(model, tok, info, [p.source for p in pairs], k, Decoding(top_p=s.top_p, max_new_tokens=s.max_new_tokens))
        out[str(k)] = {"chrf": M.chrf(hyps, [p.target for p in pairs]),
                       "kept_words": M.mean([M.kept_share(p.source, h) for p, h in zip(pairs, hyps)]),
                       "contains_rung": M.mean([float(align(p.source, h) is not None) for p, h in zip(pairs, hyps)])}
    return out


def chain_metrics(per_seed: list[list[list[str]]], judge, jtok, jinfo) -> dict:
    """Diversity within each seed's samples, coverage, length and judge quality of the final texts."""
    finals = [[t[-1] for t in samples] for samples in per_seed]
    cover = [M.coverage(t) for samples in per_seed for t in samples]
    depth = len(cover[0])
    loss, bpb = judge_scores(judge, jtok, jinfo, [f for fs in finals for f in fs])
    return {
        **{f"distinct_{n}": M.mean([M.distinct_n(fs, n) for fs in finals]) for n in (1, 2, 4)},
        "self_bleu": M.mean([M.self_bleu(fs) for fs in finals]),
        "seed_coverage": M.mean([c[0] for c in cover]),
        "coverage_by_rung": [M.mean([c[i] for c in cover]) for i in range(depth)],
        "length_words": M.mean([float(len(M.words(f))) for fs in finals for f in fs]),
        "judge_loss": loss,
        "judge_bits_per_byte": bpb,
        "example": [str(r) for r in per_seed[0][0]],
    }


def training_tokens(folder: Path) -> int | None:
    metrics = folder.parent / "metrics.jsonl"
    if not metrics.exists():
        return None
    seen = [json.loads(line).get("tokens_seen") for line in metrics.read_text(encoding="utf-8").splitlines()]
    return max([s for s in seen if s is not None] or [0]) or None


def evaluate_model(path: str, s: EvalSettings, val_files, seeds: list[str], judge, bar) -> dict:
    import torch

    from model.baseline import copy_totals

    folder = resolve(path)
    model, tok, info = load(folder, s.device)
    val = val_batches(val_files, 16, s.teacher_batches, info.task)
    flat = {k: [p for b in bs for p in b] for k, bs in val.items()}
    result = {"name": folder.parent.name if folder.name == "export" else folder.name, "path": str(folder),
              "task": info.task, "objective": info.objective, "causal": info.causal, "levels": info.levels,
              "parameters": sum(p.numel() for p in model.parameters()), "training_tokens": training_tokens(folder),
              "teacher_forced": teacher_forced(model, tok, info, val, copy_totals(flat, tok, info.step_format))}
    bar.update(1)
    result["one_step"] = one_step(model, tok, info, flat, s)
    bar.update(1)
    result["chains"] = {}
    for temperature in s.temperatures:
        torch.manual_seed(s.rng_seed)
        decoding = Decoding(temperature, s.top_p, max_new_tokens=s.max_new_tokens)
        per_seed = expand_seeds(model, tok, info, seeds, info.levels, num=s.num, decoding=decoding)
        result["chains"][str(temperature)] = chain_metrics(per_seed, *judge)
        bar.update(1)
    return result


def held_out_seeds(val_files, n: int) -> list[str]:
    """The top rung of variant 0 of the first held-out chunks, each seed once."""
    seeds: list[str] = []
    for f in val_files:
        for ladders in parquet_file(f).read(columns=["ladders"]).column("ladders").to_pylist():
            if ladders[0][-1] not in seeds:
                seeds.append(ladders[0][-1])
            if len(seeds) == n:
                return seeds
    return seeds


def evaluate(s: EvalSettings) -> dict:
    from tqdm import tqdm

    val_files = shards(s.data, s.split)
    seeds = held_out_seeds(val_files, s.seeds)
    judge, jtok, jinfo = load(resolve(s.judge), s.device)
    if jinfo.task != "text":
        raise ValueError(f"{s.judge}: the judge must be a language model of text (data.task: text)")
    with tqdm(total=len(s.models) * (2 + len(s.temperatures)), desc="eval", unit="part") as bar:
        models = [evaluate_model(m, s, val_files, seeds, (judge, jtok, jinfo), bar) for m in s.models]
    judge_info = {"path": str(resolve(s.judge)), "parameters": sum(p.numel() for p in judge.parameters()),
                  "training_tokens": training_tokens(resolve(s.judge))}
    return {"settings": asdict(s), "seeds": seeds, "judge": judge_info, "models": models}


def _f(v, digits=3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def table(result: dict) -> str:
    """The terminal table, read from the same dict that eval.json holds."""
    lines = ["Per step on held-out ladders: teacher-forced loss (nats per target token) and bits per byte of the whole "
             "rung below, against copying; one sampled expansion: chrF, words of the rung above kept, rung held in order",
             f"{'model':<12}{'obj':>8}{'step':>6}{'loss':>8}{'copy':>8}{'bpb':>7}{'copy bpb':>9}{'chrF':>7}"
             f"{'kept':>7}{'in order':>9}"]
    for m in result["models"]:
        for k, v in m["teacher_forced"].items():
            step = f"{k}→0" if m["task"] == "oneshot" else f"{k}→{int(k) - 1}"
            o = m["one_step"][k]
            lines.append(f"{m['name']:<12}{m['objective']:>8}{step:>6}{_f(v['loss']):>8}{_f(v['copy_loss']):>8}"
                         f"{_f(v['bits_per_byte']):>7}{_f(v['copy_bits_per_byte']):>9}{_f(o['chrf'], 1):>7}"
                         f"{_f(o['kept_words'], 2):>7}{_f(o['contains_rung'], 2):>9}")
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
