#!/usr/bin/env bash
# objects on the OCR benchmark clip (60 s, 1280×720, 2 fps = 120 frames): the default
# ssdlite-person (SSDLite-MobileNetV2, 300 × 300) and nudenet-320n (YOLOv8n layout) at input
# sizes 320 and 640, batch 1 and 4: wall time of the whole run and the detector's own frames
# per second (inference only, from the summary).
# Median of $RUNS runs. Needs the models (stackscope models install --all).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
D=bench-data/ocr
mkdir -p "$D"
cargo build --release -q --bin stackscope --example subtitled_clip
BIN=target/release/stackscope
CLIP=$D/subtitles.mp4
[ -f "$CLIP" ] || target/release/examples/subtitled_clip "$CLIP" 60
printf '%-34s %8s %14s\n' "" "wall s" "inference fps"
for config in "ssdlite-person 0" "nudenet-320n 320" "nudenet-320n 640"; do
  read -r model size <<< "$config"
  for batch in 1 4; do
    walls=(); fps=()
    for _ in $(seq "$RUNS"); do
      s=$(date +%s.%N)
      "$BIN" analyze "$CLIP" -a objects --model "$model" --input-size "$size" --batch "$batch" \
        -o "$D/objects.json" --force > /dev/null 2>&1
      e=$(date +%s.%N)
      walls+=("$(echo "$e - $s" | bc)")
      fps+=("$(python3 -c "import json; print(json.load(open('$D/objects.json'))['summary']['inference_frames_per_second'])")")
    done
    m() { printf '%s\n' "$@" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
    printf '%-34s %8.2f %14.1f\n' "$model size $size batch $batch" "$(m "${walls[@]}")" "$(m "${fps[@]}")"
  done
done
