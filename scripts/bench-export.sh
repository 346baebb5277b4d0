#!/usr/bin/env bash
# Interpolated export against its peers, one run, same 100 distinct 1280×720 frames:
#   1. stackscope export, 49 steps per pair (4951 frames), veryfast, crf 23
#   2. ffmpeg's own blend interpolation (framerate filter, scene detection off) + x264
#   3. the floor: x264 alone on the same 4951 blended frames from a raw yuv420p file
# Then peak RSS of (1) at ~5 000 and ~20 000 output frames. Runs interleaved, median of $RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
D=bench-data/export
mkdir -p "$D/frames"
cargo build --release -q
BIN=target/release/stackscope
if [ ! -f "$D/frames/f0100.png" ]; then
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i mandelbrot=size=1280x720:rate=1 \
    -frames:v 100 "$D/frames/f%04d.png"
fi
PEER_VF="framerate=fps=100:interp_start=0:interp_end=255:flags=0"
if [ ! -f "$D/blended.yuv" ]; then
  ffmpeg -hide_banner -loglevel error -y -framerate 2 -i "$D/frames/f%04d.png" -vf "$PEER_VF" \
    -frames:v 4951 -pix_fmt yuv420p -f rawvideo "$D/blended.yuv"
fi
cat "$D/blended.yuv" > /dev/null  # into the page cache

# "wall user+sys maxrss_kb" of one run
measure() { /usr/bin/time -f "%e %U %S %M" "$@" 2>&1 >/dev/null | tail -n 1 | awk '{print $1, $2 + $3, $4}'; }

# The three commands take turns, so drift in the machine's state (page cache, other load)
# reaches all of them alike; then the median of each.
ours=(); peer=(); floor=()
for _ in $(seq "$RUNS"); do
  ours+=("$(measure "$BIN" export "$D/frames" -o "$D/stackscope.mp4" --force \
    --interp-steps 49 --fps 100 --preset veryfast --crf 23)")
  peer+=("$(measure ffmpeg -hide_banner -loglevel error -y -framerate 2 \
    -i "$D/frames/f%04d.png" -vf "$PEER_VF" -frames:v 4951 -pix_fmt yuv420p -c:v libx264 \
    -preset veryfast -crf 23 "$D/peer.mp4")")
  floor+=("$(measure ffmpeg -hide_banner -loglevel error -y -f rawvideo \
    -pix_fmt yuv420p -s 1280x720 -r 100 -i "$D/blended.yuv" -c:v libx264 -preset veryfast \
    -crf 23 "$D/floor.mp4")")
done
mid() { printf '%s\n' "$@" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
mid_cpu() { printf '%s\n' "$@" | awk '{print $2}' | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
read -r s_wall _ s_rss < <(mid "${ours[@]}"); s_cpu=$(mid_cpu "${ours[@]}")
read -r p_wall _ p_rss < <(mid "${peer[@]}"); p_cpu=$(mid_cpu "${peer[@]}")
read -r f_wall _ f_rss < <(mid "${floor[@]}"); f_cpu=$(mid_cpu "${floor[@]}")

frames=$(ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$D/stackscope.mp4")
peer_hashes=$(ffmpeg -v error -i "$D/peer.mp4" -frames:v 3 -f framemd5 - | grep -v '^#' | awk '{print $NF}' | sort -u | wc -l)
echo "frames written by stackscope: $frames (expected 4951)"
echo "peer: distinct hashes among its first 3 frames (source, 2 blends): $peer_hashes of 3"
printf '%-12s %8s %8s %10s\n' "" "wall s" "cpu s" "rss KB"
printf '%-12s %8s %8s %10s\n' "stackscope" "$s_wall" "$s_cpu" "$s_rss"
printf '%-12s %8s %8s %10s\n' "ffmpeg peer" "$p_wall" "$p_cpu" "$p_rss"
printf '%-12s %8s %8s %10s\n' "x264 floor" "$f_wall" "$f_cpu" "$f_rss"
echo "stackscope / floor: wall $(echo "scale=3; $s_wall / $f_wall" | bc), cpu $(echo "scale=3; $s_cpu / $f_cpu" | bc)"
echo "stackscope / peer:  wall $(echo "scale=3; $s_wall / $p_wall" | bc), cpu $(echo "scale=3; $s_cpu / $p_cpu" | bc)"

read -r _ _ rss_20k < <(measure "$BIN" export "$D/frames" -o "$D/20k.mp4" --force \
  --interp-steps 200 --fps 100 --preset veryfast --crf 23)
echo "peak RSS at 4951 frames: $s_rss KB; at 19900 frames: $rss_20k KB"
