#!/usr/bin/env bash
# Set-up command 1: install dependencies, build, export the bundled sample as an interpolated
# MP4 (3 blended frames between each pair), and open the window on the sample when a display
# is present.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release
out=${DEMO_OUT:-out/sample-interpolated.mp4}
mkdir -p "$(dirname "$out")"
# --force: this script's own output from a previous run is replaced.
./target/release/stackscope export assets/sample -o "$out" --interp-steps 3 --force
echo "the interpolated export is in $(realpath "$out")"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    echo "opening the window on the sample (Space plays; set in-between to 3 to preview the export)"
    exec ./target/release/stackscope assets/sample
else
    echo "no display: run ./target/release/stackscope assets/sample on a desktop to open the window"
fi
