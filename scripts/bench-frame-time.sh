#!/usr/bin/env bash
# Frame time of the real window under Xvfb, playing the bundled sample, for two builds and
# the two renderers, interleaved: scripts/screenshot.sh takes each picture with the
# frame-time overlay on, and stackscope's own text_overlay analyzer reads the overlay back.
#   scripts/bench-frame-time.sh OLD_BIN NEW_BIN [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 runs=${3:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for run in $(seq "$runs"); do
    for build in old new; do
        bin=$old
        [ "$build" = new ] && bin=$new
        for renderer in wgpu glow; do
            png="$dir/$build-$renderer-$run.png"
            STACKSCOPE_BIN=$bin STACKSCOPE_RENDERER=$renderer scripts/screenshot.sh "$png" >/dev/null
            "$new" analyze "$png" -a text_overlay --min-text-confidence 0.3 -o "$dir/ocr.json" --force >/dev/null 2>&1 || true
            line=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(next((e["label"] for e in r["events"] if "frame time" in e["label"]), "?"))' "$dir/ocr.json")
            echo "$build $renderer run $run: $line"
        done
    done
done
