#!/usr/bin/env bash
# text_overlay on a 60 s 1280×720 clip at 2 fps (a moving square, subtitles that change every
# 4.5 s), against the Python RapidOCR pipeline on the same sampled frames:
#   stackscope, duplicate skipping on the subtitle band (--hash-region 0,0.75,1,0.25)
#   stackscope, whole-frame hash (the square moves, so nearly nothing is skipped)
#   stackscope, no skipping
#   the same with --ocr-model ppocr-v4
#   Python rapidocr 3.10.0 (PP-OCRv6, the model stackscope's default is) and
#   rapidocr-onnxruntime 1.4.4 (PP-OCRv4), default pipelines, every sampled frame
# Median of $RUNS wall-clock runs each (model load, decoding and OCR included).
# Needs the models (stackscope models install --all) and PyPI for the Python peer.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
D=bench-data/ocr
mkdir -p "$D"
cargo build --release -q --bin stackscope --example subtitled_clip
BIN=target/release/stackscope
CLIP=$D/subtitles.mp4
[ -f "$CLIP" ] || target/release/examples/subtitled_clip "$CLIP" 60
VENV=$D/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q rapidocr-onnxruntime==1.4.4
fi
VENV3=$D/venv-rapidocr3
if [ ! -x "$VENV3/bin/python" ]; then
  python3 -m venv "$VENV3"
  "$VENV3/bin/pip" install -q rapidocr==3.10.0 onnxruntime
fi

median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
wall() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

printf '%-34s %8s  %s\n' "" "wall s" "frames analysed / sampled, spans"
run() {
  local name=$1; shift
  local out="$D/$name.json" times=()
  for _ in $(seq "$RUNS"); do times+=("$(wall "$BIN" analyze "$CLIP" -a text_overlay -o "$out" --force "$@")"); done
  local t; t=$(printf '%s\n' "${times[@]}" | median)
  python3 - "$out" "$name" "$t" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["summary"]
print(f'{sys.argv[2]:<34} {float(sys.argv[3]):8.2f}  {s["frames_analysed"]} / {s["frames_sampled"]}, {s["text_spans"]} spans, {s["distinct_texts"]} texts')
PY
}
run stackscope-band --hash-region 0,0.75,1,0.25
run stackscope-whole-frame
run stackscope-no-skip --no-skip-duplicates
run stackscope-v4-band --ocr-model ppocr-v4 --hash-region 0,0.75,1,0.25
run stackscope-v4-no-skip --ocr-model ppocr-v4 --no-skip-duplicates

python_peer() {
  local name=$1 venv=$2 py=()
  for _ in $(seq "$RUNS"); do py+=("$("$venv/bin/python" scripts/bench-ocr-rapidocr.py "$CLIP" 2)"); done
  printf '%s\n' "${py[@]}" > "$D/$name.jsonl"
  python3 - "$D/$name.jsonl" "$name" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
total = statistics.median(r["total_s"] for r in runs)
ocr = statistics.median(r["ocr_s"] for r in runs)
r = runs[0]
print(f'{sys.argv[2] + " (same frames)":<34} {total:8.2f}  {r["frames"]} / {r["frames"]} (ocr alone {ocr:.2f} s), {r["distinct_texts"]} texts')
PY
}
python_peer "python rapidocr 3.10 v6" "$VENV3"
python_peer "python rapidocr 1.4.4 v4" "$VENV"
