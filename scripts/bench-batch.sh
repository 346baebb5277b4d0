#!/usr/bin/env bash
# Many clips (#21): 40 clips of 10 s at 720p (testsrc: a frame counter to read) through
# `analyze -a scenes,text_overlay`, three ways, interleaved per run:
#   loop    one `stackscope analyze` process per clip (models loaded for every clip)
#   batch1  `stackscope batch analyze --jobs 1` (models loaded once)
#   batch2  `stackscope batch analyze --jobs 2` (two workers, threads divided)
# Usage: scripts/bench-batch.sh [RUNS] (default 1); CLIPS sets the count.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1}
CLIPS=${CLIPS:-40}
D=bench-data/batch
mkdir -p "$D/clips"
cargo build --release -q
BIN=target/release/stackscope
for k in $(seq -w 1 "$CLIPS"); do
  f="$D/clips/clip$k.mp4"
  [ -f "$f" ] || ffmpeg -v error -f lavfi -i "testsrc=size=1280x720:rate=25:duration=10" \
    -vf "hue=h=$((10#$k * 9))" -c:v libx264 -preset veryfast -pix_fmt yuv420p "$f"
done
cat "$D"/clips/*.mp4 > /dev/null
wall() { /usr/bin/time -f "%e" "$@" 2>&1 >/dev/null | tail -n 1; }
loop() {
  rm -rf "$D/loop"; mkdir -p "$D/loop"
  for f in "$D"/clips/*.mp4; do
    "$BIN" analyze "$f" -a scenes,text_overlay -o "$D/loop/$(basename "$f").json" --force >/dev/null 2>&1
  done
}
: > "$D/times.txt"
for run in $(seq "$RUNS"); do
  l=$( { /usr/bin/time -f "%e" bash -c "$(declare -f loop); D=$D BIN=$BIN loop" ; } 2>&1 | tail -n 1)
  rm -rf "$D/b1"
  b1=$(wall "$BIN" batch analyze "$D/clips" -a scenes,text_overlay --out "$D/b1" --jobs 1)
  rm -rf "$D/b2"
  b2=$(wall "$BIN" batch analyze "$D/clips" -a scenes,text_overlay --out "$D/b2" --jobs 2)
  echo "$l $b1 $b2" >> "$D/times.txt"
  echo "run $run: loop $l s, batch --jobs 1 $b1 s, batch --jobs 2 $b2 s"
done
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
l=$(awk '{print $1}' "$D/times.txt" | median)
b1=$(awk '{print $2}' "$D/times.txt" | median)
b2=$(awk '{print $3}' "$D/times.txt" | median)
awk -v l="$l" -v b1="$b1" -v b2="$b2" -v n="$CLIPS" 'BEGIN {
  printf "loop of single analyze calls: %.1f s (%.2f s a clip)\n", l, l / n
  printf "batch --jobs 1: %.1f s (%.2f s a clip): %.2f× faster than the loop (goal ≥ 1.3×)\n", b1, b1 / n, l / b1
  printf "batch --jobs 2: %.1f s: %.2f× the speed of --jobs 1\n", b2, b1 / b2
  printf "per-clip overhead of the loop over batch --jobs 1: %.2f s\n", (l - b1) / n
}'
