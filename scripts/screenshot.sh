#!/usr/bin/env bash
# Starts the real window under Xvfb on the bundled sample, plays it for a few seconds with the
# frame-time overlay on, and saves a screenshot. Fails when the picture is blank.
#   scripts/screenshot.sh [OUT.png]        (default docs/screenshot.png)
# STACKSCOPE_RENDERER=glow selects OpenGL (llvmpipe) instead of wgpu (lavapipe).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshot.png}
size=1280x800
display=:${SCREENSHOT_DISPLAY:-87}

bin=target/release/stackscope
[ -x "$bin" ] || cargo build --release --quiet
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

STACKSCOPE_FRAME_TIME=1 "$bin" assets/sample >/tmp/stackscope-window.log 2>&1 &
app=$!
# Wait for the window, then play (Space) so the overlay measures playback.
for _ in $(seq 100); do
  xdotool search --name '^stackscope$' >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 3
xdotool search --name '^stackscope$' windowactivate --sync key space 2>/dev/null || true
sleep 4
mkdir -p "$(dirname "$out")"
ffmpeg -y -loglevel error -f x11grab -video_size "$size" -i "$display" -frames:v 1 "$out"
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
echo "frame times reported by the window:"
grep -i "frame time" /tmp/stackscope-window.log || true

# Not blank: the screenshot's own pixel statistics, read with stackscope.
stats=$("$bin" roi "$out" --roi "rect:0,0,1280,800" 2>/dev/null | tail -1)
echo "screenshot $out: $stats"
python3 - "$stats" <<'PY'
import sys
vals = [float(v) for v in sys.argv[1].split(",")[1:]]
# mean, min, max per channel: a blank picture has min == max everywhere.
spread = max(vals[i + 2] - vals[i + 1] for i in range(0, len(vals), 3))
if spread < 50:
    sys.exit(f"the screenshot looks blank (value spread {spread})")
print(f"not blank: value spread {spread:.0f}")
PY
