#!/usr/bin/env bash
# What trust costs, measured on the 4951-frame export of scripts/bench-export.sh (100
# mandelbrot 1280×720 frames, 49 blends per pair, veryfast, crf 23):
#   1. atomic writes: this build against BASE (default 8d622aa, before outputs went through
#      a temporary file renamed on success), --blend-device cpu, interleaved;
#   2. the blend-device probe: --blend-device auto against cpu with this build (and auto with
#      BASE), peak RSS and anything printed on stderr, on a machine without a GPU device.
# Medians of $RUNS interleaved runs. Usage: scripts/bench-trust.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BASE=${1:-8d622aa}
D=bench-data/export
B=bench-data/bin
mkdir -p "$D/frames" "$B"
if [ ! -f "$D/frames/f0100.png" ]; then
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i mandelbrot=size=1280x720:rate=1 \
    -frames:v 100 "$D/frames/f%04d.png"
fi
# NO_BUILD=1 measures the binaries already in bench-data/bin.
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q
  cp target/release/stackscope "$B/stackscope-new"
fi
if [ ! -x "$B/stackscope-$BASE" ]; then
  # The old tree in a worktree, built against the same target folder (shared dependencies).
  rm -rf "$B/base-tree"
  git worktree add -f "$B/base-tree" "$BASE" >/dev/null
  (cd "$B/base-tree" && CARGO_TARGET_DIR="$PWD/../../../target" cargo build --release -q)
  cp target/release/stackscope "$B/stackscope-$BASE"
  git worktree remove --force "$B/base-tree"
  [ -n "${NO_BUILD:-}" ] || cargo build --release -q  # back to this tree's binary in target/
fi

# "wall maxrss_kb" of one export, stderr lines counted apart.
run() {
  local bin=$1 device=$2
  /usr/bin/time -f "%e %M" -o "$D/time.txt" "$bin" export "$D/frames" -o "$D/trust.mp4" --force \
    --interp-steps 49 --fps 100 --preset veryfast --crf 23 --blend-device "$device" \
    >/dev/null 2>"$D/stderr.txt"
  echo "$(cat "$D/time.txt") $(grep -cv '^$' "$D/stderr.txt" || true)"
}
new_cpu=(); old_cpu=(); new_auto=(); old_auto=()
for _ in $(seq "$RUNS"); do
  new_cpu+=("$(run "$B/stackscope-new" cpu)")
  old_cpu+=("$(run "$B/stackscope-$BASE" cpu)")
  new_auto+=("$(run "$B/stackscope-new" auto)")
  old_auto+=("$(run "$B/stackscope-$BASE" auto)")
done
med() { printf '%s\n' "$@" | awk -v c="$COL" '{print $c}' | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
report() {
  local name=$1; shift
  COL=1 wall=$(med "$@"); COL=2 rss=$(med "$@"); COL=3 err=$(med "$@")
  printf '%-22s %8s %10s %12s\n' "$name" "$wall" "$rss" "$err"
  eval "${name//[^a-z_]/_}_wall=$wall ${name//[^a-z_]/_}_rss=$rss"
}
printf '%-22s %8s %10s %12s\n' "" "wall s" "rss KB" "stderr lines"
report new_cpu "${new_cpu[@]}"
report base_cpu "${old_cpu[@]}"
report new_auto "${new_auto[@]}"
report base_auto "${old_auto[@]}"
echo "atomic writes: new / base wall (cpu) = $(echo "scale=3; $new_cpu_wall / $base_cpu_wall" | bc)"
echo "probe: new auto − new cpu peak RSS = $(( (new_auto_rss - new_cpu_rss) / 1024 )) MB;" \
  "base auto − new cpu = $(( (base_auto_rss - new_cpu_rss) / 1024 )) MB"
