"""Ladder speed: `datagen build` against the seed's pipeline, and its speedup from 1 to 2 workers.

One run, same machine, same chunks (256-word chunks of the default corpus):
  seed     summa's TextRank summary for rung 1, then rake-nltk run from scratch on each rung for the
           next one, one ladder per run (so one per variant), in this process;
  datagen  the whole `datagen build --levels 4 --variants 4` command, start-up included, as a user
           waits for it, with --workers 1 and --workers 2.
Prints ms per variant-ladder per core for each and the ratios: by wall clock (the goal's measure), and
by CPU time (user + system, of this process for the seed and of the command's processes for datagen),
which a machine shared with other work disturbs less; and the part of the command spent making ladders
(chunking and compressors.build, as the manifest's timing.task_seconds records it; chunking reads the
sentences that build() then takes from its caches), the rest being start-up, reading and writing.
Times on a shared or virtual machine swing by a tenth or more from minute to minute, so the seed is
timed before and after the datagen runs, each datagen command runs --repeats times (alternating),
every run is printed, and the ratios compare each side's fastest run.
Usage: python bench/ladder_speed.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import punkt
from rake_nltk import Rake
from summa import summarizer

from compressors import analysis, schedule
from datagen.read import default_corpus

LEVELS, VARIANTS, MAX_WORDS = 4, 4, 256


def seed_ladder(text: str, rake: Rake) -> list[str]:
    """The seed's pipeline: summa for the sentence rung, rake-nltk from scratch for each rung after it."""
    targets = schedule.targets(analysis.word_count(text), LEVELS)
    rungs = [summarizer.summarize(text, words=targets[0]) or text]
    for target in targets[1:]:
        rake.extract_keywords_from_text(rungs[-1])
        kept, n = [], 0
        for phrase in rake.get_ranked_phrases():
            if n + len(phrase.split()) <= target:
                kept.append(phrase)
                n += len(phrase.split())
        rungs.append(", ".join(kept) or rungs[-1])
    return rungs


def time_seed(chunks: list[str]) -> tuple[float, float, float]:
    """(wall ms per ladder, CPU ms per ladder, share of ladders with two equal rungs)."""
    rake = Rake(stopwords=set(analysis.stopwords()), sentence_tokenizer=punkt.sent_tokenize)  # no NLTK data here
    start, cpu = time.perf_counter(), time.process_time()
    ladders = [seed_ladder(c, rake) for c in chunks]
    ms = (time.perf_counter() - start) * 1000 / len(chunks)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(chunks)
    repeated = sum(len(set(lad)) < len(lad) for lad in ladders) / len(ladders)
    return ms, cpu_ms, repeated


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_datagen(workers: int, out: Path) -> tuple[float, float, int, float]:
    """(wall seconds of the whole command, CPU seconds of its processes, variant ladders written,
    seconds its tasks spent chunking and in compressors.build: the manifest's timing.task_seconds)."""
    cmd = [
        str(Path(sys.executable).parent / "datagen"),
        "build",
        "--levels",
        str(LEVELS),
        "--variants",
        str(VARIANTS),
        "--max-words",
        str(MAX_WORDS),
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--force",
    ]
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds, cpu_seconds = time.perf_counter() - start, children_cpu() - cpu
    manifest = json.loads((out / "manifest.json").read_text())
    return seconds, cpu_seconds, manifest["counts"]["variant_ladders"], manifest["timing"]["task_seconds"]


def per_core_ms(seconds: float, workers: int, ladders: int) -> float:
    """Wall milliseconds per variant-ladder per core: what the goal compares with the seed."""
    return seconds * 1000 * workers / ladders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each datagen command (alternating)")
    args = parser.parse_args()
    with gzip.open(default_corpus(), "rt", encoding="utf-8") as f:
        docs = [json.loads(line)["text"] for line in f]
    chunks = [c for d in docs for c in analysis.chunks(d, MAX_WORDS) if analysis.word_count(c) > LEVELS]
    print(f"{len(chunks)} chunks of at most {MAX_WORDS} words, {os.cpu_count()} cores")
    seeds = [time_seed(chunks)]
    runs: dict[int, list] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for w in runs:
                runs[w].append(time_datagen(w, Path(tmp) / f"w{w}"))
    seeds.append(time_seed(chunks))
    for when, (ms, cpu_ms, repeated) in zip(("before", "after"), seeds):
        print(
            f"seed pipeline ({when}): {ms:.3f} ms per ladder per core ({cpu_ms:.3f} CPU ms); "
            f"{repeated:.0%} of its ladders repeat a rung"
        )
    # Each side's fastest run: other work on the machine only ever adds time.
    seed_ms, seed_cpu_ms = min(s[0] for s in seeds), min(s[1] for s in seeds)
    fastest = {}
    for w, results in runs.items():
        for seconds, cpu_seconds, ladders, build_seconds in results:
            ms, cpu_ms, build_ms = (
                per_core_ms(seconds, w, ladders),
                cpu_seconds * 1000 / ladders,
                build_seconds * 1000 / ladders,
            )
            print(
                f"datagen build --workers {w}: {seconds:.2f} s for {ladders} variant ladders = {ms:.3f} ms per "
                f"variant-ladder per core; {seed_ms / ms:.2f}x fewer ms than the seed pipeline "
                f"(CPU: {cpu_ms:.3f} ms, {seed_cpu_ms / cpu_ms:.2f}x; of which making ladders: "
                f"{build_ms:.3f} ms, {seed_ms / build_ms:.2f}x)"
            )
        fastest[w] = min(results)  # by wall seconds; every run writes the same ladders
        print(
            f"  fastest of {len(results)}: "
            f"{seed_ms / per_core_ms(fastest[w][0], w, fastest[w][2]):.2f}x the seed's fastest"
        )
    print(f"speedup from 1 to 2 workers (fastest runs): {fastest[1][0] / fastest[2][0]:.2f}x")


if __name__ == "__main__":
    main()
