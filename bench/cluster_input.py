"""The input of the cluster scripts (datagen_slurm.sh, datagen_ray.sh): every third document of the
default corpus as one uncompressed JSONL file, so the planner cuts it into byte ranges.
Usage: python bench/cluster_input.py OUT.jsonl"""

import gzip
import sys

from datagen.read import default_corpus

lines = gzip.open(default_corpus(), "rt", encoding="utf-8").read().splitlines()
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(lines[::3]) + "\n")
