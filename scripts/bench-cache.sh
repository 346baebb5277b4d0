#!/usr/bin/env bash
# Stacks larger than RAM (#20), each figure the median of RUNS interleaved runs:
#  1. A 1080p H.264 clip whose gray matrix is 5× the RAM limit given, decoded into the frame
#     cache, against `ffmpeg -i clip -f rawvideo -pix_fmt gray out.raw` on the same clip and
#     disk; peak RSS of both; then the second open (the entry is mapped, not decoded).
#  2. Mean over the cache entry with its pages dropped from the page cache first, against
#     `cat entry > /dev/null` from a cold cache too.
#  3. Frames 9000–9100 against frames 0–100 of a 10 000-frame clip (the late range seeks).
# Usage: scripts/bench-cache.sh [RUNS] (default 3); FRAMES sets the 1080p clip's length.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
FRAMES=${FRAMES:-1200}
D=bench-data/cache
mkdir -p "$D"
cargo build --release -q
BIN=target/release/stackscope
CLIP="$D/clip_1080p_$FRAMES.mp4"
LONG="$D/clip_240p_10000.mp4"
CACHE="$D/frames"
if [ ! -f "$CLIP" ]; then
  ffmpeg -v error -f lavfi -i "testsrc2=size=1920x1080:rate=30" -frames:v "$FRAMES" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$CLIP"
fi
if [ ! -f "$LONG" ]; then
  ffmpeg -v error -f lavfi -i "testsrc2=size=320x240:rate=25" -frames:v 10000 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$LONG"
fi
GRAY_BYTES=$((FRAMES * 1920 * 1080))
LIMIT=$((GRAY_BYTES / 5))
# Drops a file's pages from the page cache (posix_fadvise DONTNEED through GNU dd).
drop() { dd if="$1" iflag=nocache count=0 status=none; }
# "wall_s max_rss_kb" of a command, its output thrown away.
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

cat "$CLIP" "$LONG" > /dev/null
echo "clip: $FRAMES frames of 1920×1080, gray matrix $((GRAY_BYTES >> 20)) MiB, RAM limit $((LIMIT >> 20)) MiB, $(nproc) cores"
: > "$D/decode.txt"; : > "$D/open.txt"; : > "$D/reduce.txt"; : > "$D/late.txt"
for run in $(seq "$RUNS"); do
  rm -rf "$CACHE" "$D/out.raw"
  read -r f_s f_kb < <(measure ffmpeg -v error -y -i "$CLIP" -f rawvideo -pix_fmt gray "$D/out.raw")
  rm -f "$D/out.raw"
  read -r s_s s_kb < <(measure "$BIN" info "$CLIP" --grayscale --max-ram "$LIMIT" --cache "$CACHE")
  echo "$s_s $f_s $s_kb $f_kb" >> "$D/decode.txt"
  ENTRY=$(ls "$CACHE"/*.npy)
  # The second open: the whole command, and the load itself as its report says.
  read -r o_s _ < <(measure "$BIN" info "$CLIP" --grayscale --max-ram "$LIMIT" --cache "$CACHE")
  load_s=$("$BIN" info "$CLIP" --grayscale --max-ram "$LIMIT" --cache "$CACHE" | awk '/^time:/ {print $2}')
  echo "$o_s $load_s" >> "$D/open.txt"
  drop "$ENTRY"
  read -r c_s _ < <(measure cat "$ENTRY")
  drop "$ENTRY"
  read -r r_s r_kb < <(measure "$BIN" reduce "$CLIP" --grayscale --max-ram "$LIMIT" --cache "$CACHE" \
    --op mean -o "$D/mean.npy" --force)
  echo "$r_s $c_s $r_kb" >> "$D/reduce.txt"
  read -r late_s _ < <(measure "$BIN" info "$LONG" --range 9000:9100 --cache off)
  read -r early_s _ < <(measure "$BIN" info "$LONG" --range 0:100 --cache off)
  echo "$late_s $early_s" >> "$D/late.txt"
  echo "run $run: decode $s_s s (ffmpeg $f_s s), RSS $s_kb KB (ffmpeg $f_kb KB); second open $o_s s (load $load_s s); mean $r_s s (cat $c_s s); late $late_s s, early $early_s s"
done
col() { awk -v c="$2" '{print $c}' "$1" | median; }
s=$(col "$D/decode.txt" 1); f=$(col "$D/decode.txt" 2)
echo "decode to cache: $s s vs ffmpeg rawvideo $f s: $(ratio "$s" "$f")× (goal ≤ 1.1×)"
echo "peak RSS: $(col "$D/decode.txt" 3) KB vs ffmpeg $(col "$D/decode.txt" 4) KB (goal ≤ 200 MB)"
echo "second open: $(col "$D/open.txt" 1) s for the whole command, $(col "$D/open.txt" 2) s for the load (goal < 0.1 s)"
r=$(col "$D/reduce.txt" 1); c=$(col "$D/reduce.txt" 2)
echo "mean over the entry, cold: $r s vs cat $c s: $(ratio "$r" "$c")× (goal ≤ 1.2×), RSS $(col "$D/reduce.txt" 3) KB"
l=$(col "$D/late.txt" 1); e=$(col "$D/late.txt" 2)
echo "frames 9000–9100: $l s vs 0–100: $e s: $(ratio "$l" "$e")× (goal ≤ 1.5×)"
rm -rf "$CACHE" "$D/mean.npy"
