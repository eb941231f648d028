#!/usr/bin/env bash
# A Ray cluster of two processes on this machine, a head and a second worker node joined to it, and
# `datagen build --engine ray --set ray.address=...` on it; the rows are compared with a local build.
#
# Run by hand (not in CI):  bash bench/datagen_ray.sh       # output recorded in bench/README.md
# To run committed code while others edit the working tree: PYTHONPATH=<a git archive of HEAD>.
# The head and the worker are started with `ray start --block` in their own process groups and
# stopped by those ids when the script exits (never `ray stop`, which stops every Ray on the machine).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/textladder-ray}
PORT=${PORT:-6391}
TASKS=${TASKS:-4}
ARGS=(--levels 3 --variants 2 --max-words 128 --tasks "$TASKS" --workers 2)
# a cluster of one machine's processes: no token (Ray 2.5x+ turns token auth on for `ray start --head`)
export RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled
rm -rf "$WORK" && mkdir -p "$WORK"
RAY=.venv/bin/ray

setsid "$RAY" start --head --block --port "$PORT" --node-ip-address 127.0.0.1 --num-cpus 1 --include-dashboard false \
  --temp-dir "$WORK/session" > "$WORK/head.log" 2>&1 &
HEAD=$!
cleanup() { kill -- "-$WORKER" 2>/dev/null || true; kill -- "-$HEAD" 2>/dev/null || true; }
WORKER=
trap cleanup EXIT
for _ in $(seq 60); do "$RAY" status --address "127.0.0.1:$PORT" >/dev/null 2>&1 && break; sleep 1; done
# the second node: its own raylet and object store, joined to the head by address
setsid "$RAY" start --block --address "127.0.0.1:$PORT" --node-ip-address 127.0.0.1 --num-cpus 1 > "$WORK/worker.log" 2>&1 &
WORKER=$!
for _ in $(seq 60); do
  [ "$("$RAY" status --address "127.0.0.1:$PORT" 2>/dev/null | grep -c '^ 1 node_')" -ge 2 ] && break; sleep 1
done
"$RAY" status --address "127.0.0.1:$PORT" | sed -n '1,12p'

SRC=$WORK/input.jsonl
.venv/bin/python bench/cluster_input.py "$SRC"

echo "== local build"
.venv/bin/datagen build --input "$SRC" --out "$WORK/local" "${ARGS[@]}" 2>/dev/null
echo "== ray build on the two-node cluster"
.venv/bin/datagen build --engine ray --set "ray.address=127.0.0.1:$PORT" --input "$SRC" --out "$WORK/ray" \
  "${ARGS[@]}" 2>"$WORK/ray-build.log"

echo "== where the tasks ran: the build's Ray worker processes, by node (from the session's logs)"
LOGS="$WORK/session/session_latest/logs"
for f in "$LOGS"/worker-*-*-*.out; do
  job=$(basename "$f" .out | awk -F- '{print $3}'); pid=$(basename "$f" .out | awk -F- '{print $4}')
  [ "$job" = ffffffff ] && continue   # workers started ahead of any job
  grep -o -m1 -E 'node_id=[0-9a-f]{8}' "$LOGS"/python-core-worker-*_"$pid".log
done | sort | uniq -c | sed 's/^/  worker processes: /'
echo "== compare"
.venv/bin/python - "$WORK/local" "$WORK/ray" "$WORK/ray-build.log" <<'EOF'
import json, re, sys
import pyarrow.parquet as pq
local, ray = (sorted(pq.read_table(f"{d}/data").to_pylist(), key=lambda r: r["id"]) for d in sys.argv[1:3])
m = json.load(open(f"{sys.argv[2]}/manifest.json"))
print(f"local rows {len(local)}, ray rows {len(ray)}, identical: {local == ray}")
print("ray manifest input:", json.dumps(m["input"]))
sys.exit(0 if local == ray else 1)
EOF
