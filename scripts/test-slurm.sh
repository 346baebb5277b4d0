#!/usr/bin/env bash
# The batch on a real Slurm (#21), by hand or in CI when there is time: installs Debian's
# slurm-wlm and munge when missing, starts munged, slurmctld and slurmd for one node on
# localhost with a minimal configuration in a scratch folder, submits
# scripts/slurm-batch.sbatch as a 3-task array over 8 generated clips (one of them damaged)
# with `sbatch --wait`, waits for the dependent merge job, checks every result and the merged
# table, and stops the daemons it started. Needs root and the analyzers' models.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test-slurm: run as root" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
fi
# STACKSCOPE: a binary already built (CI passes its debug build); else a release build.
if [ -n "${STACKSCOPE:-}" ]; then
  BIN=$(realpath "$STACKSCOPE")
else
  cargo build --release -q
  BIN=$PWD/target/release/stackscope
fi
W=$(mktemp -d /tmp/stackscope-slurm.XXXXXX)
started=()
stop() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${started[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}
trap stop EXIT
# Waits up to $1 seconds for the command after it to succeed.
within() {
  local limit=$1; shift
  for _ in $(seq "$((limit * 2))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "test-slurm: timed out waiting for: $*" >&2
  return 1
}

host=$(hostname -s)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$W/ctld" "$W/d" "$W/munge" "$W/log"
cat > "$W/slurm.conf" <<CONF
ClusterName=stackscope-test
SlurmctldHost=$host
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$W/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$W/ctld
SlurmdSpoolDir=$W/d
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=batch Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$W/slurm.conf

# A munge of our own: its own key and socket, so a running munged is left alone.
dd if=/dev/urandom of="$W/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$W/munge/munge.key"
munged --force --key-file="$W/munge/munge.key" --socket="$W/munge/munge.socket" \
  --pid-file="$W/munge/munged.pid" --log-file="$W/log/munged.log" --seed-file="$W/munge/seed"
within 10 test -s "$W/munge/munged.pid"
started+=("$(cat "$W/munge/munged.pid")")
slurmctld
within 20 test -s "$W/slurmctld.pid"
started+=("$(cat "$W/slurmctld.pid")")
slurmd
within 20 test -s "$W/slurmd.pid"
started+=("$(cat "$W/slurmd.pid")")
within 60 bash -c "sinfo -h -o %T | grep -q idle"
echo "slurm: $(sinfo -h -o '%P %D %T %c')"

# Eight clips in two folders, the last not a video.
mkdir -p "$W/clips/day1" "$W/clips/day2"
for k in 0 1 2 3 4 5 6; do
  ffmpeg -v error -f lavfi -i "testsrc2=size=64x48:rate=10:duration=$((1 + k % 3))" \
    -f lavfi -i "sine=frequency=440:duration=3" -shortest -c:v libx264 -pix_fmt yuv420p \
    "$W/clips/day$((k % 2 + 1))/clip$((k / 2)).mp4"
done
echo "not a video" > "$W/clips/day2/clip3.mp4"

cd "$W"
CLIPS=$W/clips OUT=$W/results STACKSCOPE=$BIN ANALYZERS=scenes,vad \
  timeout 600 sbatch --wait --array=0-2 --cpus-per-task=1 "$OLDPWD/scripts/slurm-batch.sbatch" \
  || echo "the array ended with failures (the damaged clip): checked below"
# The merge job depends on the array; wait for the queue to empty.
within 300 bash -c '[ -z "$(squeue -h)" ]'

fail() { echo "test-slurm: FAILED: $*" >&2; exit 1; }
ls "$W/results"/state-*-of-3.jsonl >/dev/null || fail "no per-shard state files"
oks=$(cat "$W"/results/state-*.jsonl | grep -c '"ok":true' || true)
bad=$(cat "$W"/results/state-*.jsonl | grep -c '"ok":false' || true)
[ "$oks" = 7 ] || fail "$oks clips succeeded, not 7"
[ "$bad" = 1 ] || fail "$bad clips failed, not 1"
[ -f "$W/results/table.csv" ] || fail "the merge job wrote no table"
summaries=$(grep -c ',summary,' "$W/results/table.csv")
[ "$summaries" = 14 ] || fail "$summaries summary rows, not 14 (7 clips × 2 analyzers)"
"$BIN" batch merge "$W/results" -o "$W/again.csv" >/dev/null
cmp -s "$W/results/table.csv" "$W/again.csv" || fail "the merge job's table differs from a merge by hand"
echo "test-slurm: ok: 3 array tasks, 7 clips done, 1 recorded failure, merged table of $(wc -l < "$W/results/table.csv") lines"
