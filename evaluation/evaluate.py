"""`sample eval`: is ladder expansion divergent, does it follow its ladder, and at what cost in quality?
The same measurements for every model.

Per step, teacher-forced on held-out ladders: loss (nats per target token) next to the copy-the-input
baseline, and bits per byte of the whole rung k - 1 (what the model must write given rung k, so the
`infill` and `rewrite` objectives compare); one sampled expansion per pair scored by chrF against the
reference rung, by the share of the rung above's words it keeps and by whether it holds that rung
verbatim and in order. Per model, the whole-text bits per byte of held-out chunks: the codec's ideal
code length (every step of the chunk's variant-0 ladder under the rules, its top rung at 8 bits a
byte). Whole chains from top rungs to text, N samples per seed, at every temperature and top-p, all
length-matched (`words`): the frontier of quality against diversity that MDLM and BD3-LM report —
generative perplexity under a judge LM against distinct-n, self-BLEU and unigram entropy per text —
and the non-word rate of the final texts.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evaluation import metrics
from model.align import align
from model.export import load, resolve
from model.format import collate, encode
from model.loss import forward
from model.pairs import Pair, by_source, in_turn, parquet_file, shards, val_batches
from model.precision import resolve as resolve_precision
from model.task import Task
from sample.decode import Decoding
from sample.expand import expand_seeds, step_once
from textladder.files import jsonl_records


@dataclass(frozen=True)
class EvalSettings:
    models: list[str]
    judge: str
    data: str = "ladders/default-L4"
    split: str = "val"
    seeds: int = 8  # top rungs of held-out chunks to expand
    num: int = 4  # samples per seed
    temperatures: list[float] = field(default_factory=lambda: [0.7, 1.0, 1.3])
    top_p: list[float] = field(default_factory=lambda: [0.95])
    words: int | None = None  # every final text's length; None: each model's typical text
    teacher_batches: int = 4  # per step, of 16 pairs
    chrf_pairs: int = 16  # one-step expansions per step scored with chrF
    text_chunks: int = 32  # held-out chunks whose whole-text bits per byte are measured
    rng_seed: int = 0
    device: str = "cpu"
    precision: str = "auto"
    max_new_tokens: int | None = None  # None: enough for each step's words
    lexicon: str = "all"  # sample.decode.Decoding.lexicon, for every model


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
        out[str(k)] = {
            "loss": nats / tokens,
            "bits_per_byte": metrics.bits_per_byte(nats, text_bytes),
            "copy_loss": copy_nats / copy_tokens,
            "copy_bits_per_byte": metrics.bits_per_byte(copy_nats, text_bytes),
            "target_tokens": tokens,
            "pairs": sum(map(len, batches)),
        }
    return out


def whole_text_bits(model, tok, info, chunks: list[tuple[str, str]]) -> dict:
    """The codec's ideal code length of held-out chunks (text, its document), per byte of the chunks."""
    import torch

    from codec.coder import Unfit, steps_of

    bits, size, coded = 0.0, 0, 0
    for chunk, document in chunks:
        try:
            top, pairs = steps_of(chunk, info, document)
        except Unfit:
            continue
        with torch.no_grad():
            _, sums = forward(model, collate(pairs, tok, info.step_format))
        bits += sum(v for v, _ in sums.values()) / math.log(2) + 8 * len(top.encode("utf-8"))
        size, coded = size + len(chunk.encode("utf-8")), coded + 1
    return {"bits_per_byte": bits / max(size, 1), "chunks": coded, "bytes": size}


def judge_scores(judge, jtok, jinfo, texts: list[str]) -> tuple[float, float]:
    """(nats per token, bits per byte) of `texts` under the judge LM."""
    import torch

    nats, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(texts), 16):
            _, sums = forward(judge, collate([Pair(0, "", t) for t in texts[i : i + 16]], jtok, jinfo.step_format))
            nats, tokens = nats + sums[0][0], tokens + sums[0][1]
    return nats / max(tokens, 1), metrics.bits_per_byte(nats, _bytes(texts))


def one_step(model, tok, info, flat: dict, s: EvalSettings) -> dict:
    """Per step, one sampled expansion of the first pairs (T = 1, the first top-p): chrF against the
    reference, words of the rung above kept, and the share of expansions that hold the rung above
    verbatim and in order."""
    import torch

    out = {}
    torch.manual_seed(s.rng_seed)
    decoding = Decoding(1.0, s.top_p[0], max_new_tokens=s.max_new_tokens, lexicon=s.lexicon)
    for k, pairs in flat.items():
        pairs = pairs[: s.chrf_pairs]
        hyps = step_once(model, tok, info, [p.source for p in pairs], k, decoding, words=None)
        out[str(k)] = {
            "chrf": metrics.chrf(hyps, [p.target for p in pairs]),
            "kept_words": metrics.mean([metrics.kept_share(p.source, h) for p, h in zip(pairs, hyps)]),
            "contains_rung": metrics.mean([float(align(p.source, h) is not None) for p, h in zip(pairs, hyps)]),
        }
    return out


def chain_metrics(per_seed: list[list[list[str]]], judge, jtok, jinfo) -> dict:
    """Diversity within each seed's samples, coverage, length, non-words and judge quality of the final texts."""
    finals = [[t[-1] for t in samples] for samples in per_seed]
    flat = [f for fs in finals for f in fs]
    cover = [metrics.coverage(t) for samples in per_seed for t in samples]
    depth = len(cover[0])
    loss, bpb = judge_scores(judge, jtok, jinfo, flat)
    return {
        **{f"distinct_{n}": metrics.mean([metrics.distinct_n(fs, n) for fs in finals]) for n in (1, 2, 4)},
        "self_bleu": metrics.mean([metrics.self_bleu(fs) for fs in finals]),
        "unigram_entropy": metrics.mean([metrics.unigram_entropy(f) for f in flat]),
        "seed_coverage": metrics.mean([c[0] for c in cover]),
        "coverage_by_rung": [metrics.mean([c[i] for c in cover]) for i in range(depth)],
        "length_words": metrics.mean([float(len(metrics.words(f))) for f in flat]),
        "non_words": metrics.non_word_rate(flat),
        "judge_loss": loss,
        "gen_ppl": math.exp(loss),
        "judge_bits_per_byte": bpb,
        "example": [str(r) for r in per_seed[0][0]],
    }


def training_tokens(folder: Path) -> int | None:
    path = folder.parent / "metrics.jsonl"
    if not path.exists():
        return None
    seen = [r.get("tokens_seen") for r in jsonl_records(path)]
    return max([s for s in seen if s is not None] or [0]) or None


def chain_key(temperature: float, top_p: float) -> str:
    return f"T={temperature:g} p={top_p:g}"


def evaluate_model(path: str, s: EvalSettings, val_files, seeds: list[str], texts, judge, bar) -> dict:
    import torch

    from model.baseline import copy_totals

    folder = resolve(path)
    model, tok, info = load(folder, s.device, resolve_precision(s.precision, s.device)[0])
    val = val_batches(val_files, 16, s.teacher_batches, info.task)
    flat = {k: [p for b in bs for p in b] for k, bs in val.items()}
    encoded = {k: [encode(p, tok, info.step_format) for p in ps] for k, ps in flat.items()}
    result = {
        "name": folder.parent.name if folder.name == "export" else folder.name,
        "path": str(folder),
        "task": info.task,
        "objective": info.objective,
        "causal": info.causal,
        "levels": info.levels,
        "parameters": sum(p.numel() for p in model.parameters()),
        "training_tokens": training_tokens(folder),
        "teacher_forced": teacher_forced(model, tok, info, val, copy_totals(encoded, tok)),
        "whole_text": whole_text_bits(model, tok, info, texts),
    }
    bar.update(1)
    result["one_step"] = one_step(model, tok, info, flat, s)
    bar.update(1)
    result["chains"] = {}
    words = s.words if s.words is not None else -1
    for temperature in s.temperatures:
        for top_p in s.top_p:
            torch.manual_seed(s.rng_seed)
            decoding = Decoding(temperature, top_p, max_new_tokens=s.max_new_tokens, lexicon=s.lexicon)
            per_seed = expand_seeds(model, tok, info, seeds, info.levels, num=s.num, decoding=decoding, words=words)
            result["chains"][chain_key(temperature, top_p)] = {
                "temperature": temperature,
                "top_p": top_p,
                **chain_metrics(per_seed, *judge),
            }
            bar.update(1)
    return result


def held_out(val_files, n_seeds: int, n_chunks: int) -> tuple[list[str], list[tuple[str, str]]]:
    """(the top rungs of variant 0 of held-out chunks, each once; held-out chunks with their documents'
    text as their chunks joined, for the whole-text bits), each source in turn (a doc id's part before
    "/": austen, jargon, wikipedia in the default corpus), so that the first source's chunks do not fill
    them all."""
    rows = [r for f in val_files for r in parquet_file(f).read(columns=["doc_id", "text", "ladders"]).to_pylist()]
    docs: dict[str, list[str]] = {}
    for row in rows:
        docs.setdefault(row["doc_id"], []).append(row["text"])
    order = in_turn(by_source(rows, "doc_id").values())
    seeds = list(dict.fromkeys(r["ladders"][0][-1] for r in order))[:n_seeds]
    return seeds, [(r["text"], "\n\n".join(docs[r["doc_id"]])) for r in order[:n_chunks]]


def evaluate(s: EvalSettings) -> dict:
    from tqdm import tqdm

    val_files = shards(s.data, s.split)
    seeds, texts = held_out(val_files, s.seeds, s.text_chunks)
    judge, jtok, jinfo = load(resolve(s.judge), s.device, resolve_precision(s.precision, s.device)[0])
    if Task(jinfo.task).expands:
        raise ValueError(f"{s.judge}: the judge must be a language model of text (data.task: text)")
    parts = len(s.models) * (2 + len(s.temperatures) * len(s.top_p))
    with tqdm(total=parts, desc="eval", unit="part") as bar:
        models = [evaluate_model(m, s, val_files, seeds, texts, (judge, jtok, jinfo), bar) for m in s.models]
    judge_info = {
        "path": str(resolve(s.judge)),
        "parameters": sum(p.numel() for p in judge.parameters()),
        "training_tokens": training_tokens(resolve(s.judge)),
        "whole_text": whole_text_bits(judge, jtok, jinfo, texts),
    }
    return {"settings": asdict(s), "seeds": seeds, "judge": judge_info, "models": models}


def _f(v, digits=3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def table(result: dict) -> str:
    """The terminal table, read from the same dict that eval.json holds."""
    lines = [
        "Per step on held-out ladders: teacher-forced loss (nats per target token) and bits per byte of the whole "
        "rung below, against copying; one sampled expansion: chrF, words of the rung above kept, rung held in order",
        f"{'model':<12}{'obj':>8}{'step':>6}{'loss':>8}{'copy':>8}{'bpb':>7}{'copy bpb':>9}{'chrF':>7}"
        f"{'kept':>7}{'in order':>9}",
    ]
    for m in result["models"]:
        below = Task(m["task"]).below
        for k, v in m["teacher_forced"].items():
            o = m["one_step"][k]
            lines.append(
                f"{m['name']:<12}{m['objective']:>8}{k + '→' + str(below(int(k))):>6}{_f(v['loss']):>8}"
                f"{_f(v['copy_loss']):>8}{_f(v['bits_per_byte']):>7}{_f(v['copy_bits_per_byte']):>9}"
                f"{_f(o['chrf'], 1):>7}{_f(o['kept_words'], 2):>7}{_f(o['contains_rung'], 2):>9}"
            )
    s = result["settings"]
    lines += [
        "",
        f"Whole chains: {len(result['seeds'])} held-out seeds x {s['num']} samples, words "
        f"{s['words'] or 'each model’s typical'}; gen. ppl: the judge's perplexity of the final texts (lower reads "
        "as more fluent to it); non-words: share of words absent from wordfreq's English list",
        f"{'model':<12}{'sampling':>12}{'gen ppl':>9}{'dist-2':>8}{'selfBLEU':>9}{'entropy':>8}{'non-w':>7}"
        f"{'seed kept':>10}{'words':>7}{'text bpb':>9}{'params':>9}{'train tok':>10}",
    ]
    for m in result["models"]:
        for key, c in m["chains"].items():
            tokens = m["training_tokens"]
            lines.append(
                f"{m['name']:<12}{key:>12}{_f(c['gen_ppl'], 1):>9}{_f(c['distinct_2']):>8}"
                f"{_f(c['self_bleu'], 1):>9}{_f(c['unigram_entropy'], 2):>8}{_f(c['non_words']):>7}"
                f"{_f(c['seed_coverage'], 2):>10}{_f(c['length_words'], 0):>7}"
                f"{_f(m['whole_text']['bits_per_byte']):>9}{m['parameters'] / 1e6:>8.2f}M"
                f"{(_f(tokens / 1e6, 2) + 'M') if tokens else '-':>10}"
            )
    return "\n".join(lines)


PANELS = (  # title, x label, y label of the two panels of eval.png
    ("teacher-forced bits per byte by step (dotted: copy)", "step (rung k → k-1; one-shot: L → 0)", "bits per byte"),
    (
        "quality against diversity (labels: temperature)",
        "generative perplexity under the judge (lower is better)",
        "distinct-2 within a seed's samples (higher is more diverse)",
    ),
)


def plot(result: dict, path: Path) -> None:
    """Two panels: teacher-forced bits per byte by step; the frontier, generative perplexity against
    distinct-2, one line per model and top-p across temperatures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5))
    for m in result["models"]:
        steps = list(m["teacher_forced"])
        a.plot(steps, [m["teacher_forced"][k]["bits_per_byte"] for k in steps], marker="o", label=m["name"])
        a.plot(steps, [m["teacher_forced"][k]["copy_bits_per_byte"] for k in steps], linestyle=":", color="grey")
        for top_p in sorted({c["top_p"] for c in m["chains"].values()}):
            pts = sorted(
                (c["temperature"], c["gen_ppl"], c["distinct_2"]) for c in m["chains"].values() if c["top_p"] == top_p
            )
            (line,) = b.plot(
                [x for _, x, _ in pts],
                [y for *_, y in pts],
                marker="o",
                linestyle="-" if top_p == 1 else "--",
                label=f"{m['name']} top-p {top_p:g}",
            )
            for t, x, y in pts:
                b.annotate(f"{t:g}", (x, y), fontsize=7, color=line.get_color())
    b.set_xscale("log")
    for ax, (title, x, y) in zip((a, b), PANELS):
        ax.set(title=title, xlabel=x, ylabel=y)
    a.legend()
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(s: EvalSettings, out: Path) -> dict:
    result = evaluate(s)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    plot(result, out / "eval.png")
    return result
