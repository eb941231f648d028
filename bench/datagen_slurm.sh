#!/usr/bin/env bash
# A real one-node Slurm on this machine, and `datagen build --engine slurm` on it: submit, wait for the
# job array to end, rerun the same command to write the manifest, compare the rows with a local build.
#
# Needs root and Debian's packages: apt-get install slurm-wlm munge. Run by hand (not in CI):
#   bash bench/datagen_slurm.sh            # output recorded in bench/README.md
# To run committed code while others edit the working tree: PYTHONPATH=<a git archive of HEAD> (the job
# inherits the environment, --export=ALL).
# It starts munged, slurmctld and slurmd (this machine is controller and only compute node) and stops
# the daemons it started when it exits. State lives under $WORK (default /tmp/textladder-slurm).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-/tmp/textladder-slurm}
NODE=$(hostname -s)
TASKS=${TASKS:-4}
ARGS=(--levels 3 --variants 2 --max-words 128 --tasks "$TASKS" --workers 2)
rm -rf "$WORK" && mkdir -p "$WORK"/{spool,state,log,run}

# --- munge: the authentication every Slurm daemon and client uses
[ -s /etc/munge/munge.key ] || mungekey --create
mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged || /usr/sbin/munged --force
  STARTED_MUNGE=1
fi

# --- slurm.conf: one node (this one), one partition, no accounting, no cgroups (a container has none to give)
read -r CPUS MEM < <(slurmd -C | awk '/NodeName/ {for (i=1;i<=NF;i++) {split($i,kv,"="); v[kv[1]]=kv[2]} print v["CPUs"], v["RealMemory"]}')
cat > /etc/slurm/slurm.conf <<EOF
ClusterName=textladder
SlurmctldHost=$NODE
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=$NODE CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
/usr/sbin/slurmctld -c -i
/usr/sbin/slurmd -c
cleanup() {
  scancel -n textladder-datagen 2>/dev/null || true
  kill "$(cat "$WORK/run/slurmd.pid" 2>/dev/null)" "$(cat "$WORK/run/slurmctld.pid" 2>/dev/null)" 2>/dev/null || true
  [ -n "${STARTED_MUNGE:-}" ] && kill "$(pgrep -x munged)" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && break; sleep 1; done
sinfo

# --- the input: a few hundred documents of the default corpus as one uncompressed JSONL, cut into ranges
SRC=$WORK/input.jsonl
.venv/bin/python bench/cluster_input.py "$SRC"

echo "== local build"
.venv/bin/datagen build --input "$SRC" --out "$WORK/local" "${ARGS[@]}"

echo "== slurm build: submit"
START=$(date +%s)
.venv/bin/datagen build --engine slurm --set slurm.partition=debug --set slurm.mem_per_cpu_gb=2 \
  --input "$SRC" --out "$WORK/slurm" "${ARGS[@]}"
squeue
echo "== slurm build: the same command while the job runs is refused"
AGAIN=$(.venv/bin/datagen build --engine slurm --set slurm.partition=debug --set slurm.mem_per_cpu_gb=2 \
  --input "$SRC" --out "$WORK/slurm" "${ARGS[@]}" 2>&1 || true)
grep "datagen: error" <<<"$AGAIN" || echo "not refused (the job had already ended)"
# the array ends when none of its tasks runs or waits; datatrove's merge_stats job (afterok) never
# starts when a task failed, so it is not waited for
active() { squeue -h -n textladder-datagen -o '%T %r' | grep -v DependencyNeverSatisfied | grep -c . || true; }
for _ in $(seq 300); do [ "$(active)" = 0 ] && break; sleep 2; done
echo "job array ended after $(( $(date +%s) - START )) s"
sacct >/dev/null 2>&1 || true
grep -h "Processing done\|Error" "$WORK"/slurm/logs/slurm_logs/*.out || true

echo "== slurm build: rerun to write the manifest"
.venv/bin/datagen build --engine slurm --set slurm.partition=debug --set slurm.mem_per_cpu_gb=2 \
  --input "$SRC" --out "$WORK/slurm" "${ARGS[@]}"

echo "== compare"
.venv/bin/python - "$WORK/local" "$WORK/slurm" <<'EOF'
import json, sys
import pyarrow.parquet as pq
local, slurm = (sorted(pq.read_table(f"{d}/data").to_pylist(), key=lambda r: r["id"]) for d in sys.argv[1:])
m = json.load(open(f"{sys.argv[2]}/manifest.json"))
print(f"local rows {len(local)}, slurm rows {len(slurm)}, identical: {local == slurm}")
print("slurm manifest input:", json.dumps(m["input"]))
sys.exit(0 if local == slurm else 1)
EOF
