#!/usr/bin/env bash
# Starts the real window under Xvfb on the bundled sample, plays it for a few seconds with the
# frame-time overlay on, and saves a screenshot. Fails when the picture is blank.
#   scripts/screenshot.sh [OUT.png [STACK]]   (defaults: docs/screenshot.png, assets/sample)
# STACKSCOPE_RENDERER=glow selects OpenGL (llvmpipe) instead of wgpu (lavapipe).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshot.png}
stack=${2:-assets/sample}
size=1280x800
display=:${SCREENSHOT_DISPLAY:-87}

# The test build's binary by default (dependencies are optimized in dev): CI has it already.
bin=${STACKSCOPE_BIN:-target/debug/stackscope}
[ -x "$bin" ] || cargo build --quiet
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/stackscope-xdg}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# A fresh profile, so the picture does not depend on what a previous run remembered.
export XDG_DATA_HOME=$(mktemp -d)

Xvfb "$display" -screen 0 "${size}x24" -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=
trap 'kill $app $xvfb 2>/dev/null || true; rm -rf "$XDG_DATA_HOME"' EXIT
export DISPLAY=$display
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

STACKSCOPE_FRAME_TIME=1 "$bin" "$stack" >/tmp/stackscope-window.log 2>&1 &
app=$!
# Wait for the window, then play (Space) so the overlay measures playback.
for _ in $(seq 100); do
  xdotool search --name '^stackscope$' >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 3
# No window manager runs under bare Xvfb: focus the window directly, then press Space.
wid=$(xdotool search --name '^stackscope$' | head -1)
xdotool windowfocus --sync "$wid" 2>/dev/null || true
xdotool mousemove --window "$wid" 700 300 key --window "$wid" space
sleep 8
mkdir -p "$(dirname "$out")"
ffmpeg -y -loglevel error -f x11grab -video_size "$size" -i "$display" -frames:v 1 "$out"
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true

# Not blank: the screenshot's own pixel statistics, read with stackscope.
csv=$(mktemp --suffix .csv)
"$bin" roi "$out" --rect 0,0,1280,800 -o "$csv" --force >/dev/null
python3 - "$csv" "$out" <<'PY'
import csv, sys
row = next(csv.DictReader(open(sys.argv[1])))
lo = [float(v) for k, v in row.items() if "_min_" in k]
hi = [float(v) for k, v in row.items() if "_max_" in k]
spread = max(h - l for l, h in zip(lo, hi))
# A blank (or single-colour) picture has min == max in every channel.
if spread < 50:
    sys.exit(f"{sys.argv[2]} looks blank (value spread {spread:.0f})")
print(f"{sys.argv[2]}: not blank (value spread {spread:.0f})")
PY
rm -f "$csv"
