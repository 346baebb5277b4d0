#!/usr/bin/env bash
# Reductions on a 2000 × 1024 × 1024 uint8 stack (2 GiB .npy in the page cache), stackscope
# against numpy, plus a Rust read-once baseline; then the sliding normalization pass for
# w = 10 and w = 500 and an ROI curve. One run; peak RSS from GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
D=bench-data/ops
mkdir -p "$D"
cargo build --release -q --examples
cargo build --release -q
BIN=target/release/stackscope
if [ ! -x "$D/venv/bin/python" ]; then
  python3 -m venv "$D/venv"
  "$D/venv/bin/pip" install -q numpy
fi
PY="$D/venv/bin/python"
NPY="$D/stack_2000.npy"
if [ ! -f "$NPY" ]; then
  "$PY" - "$NPY" <<'PYEOF'
import sys, numpy as np
rng = np.random.default_rng(1)
a = np.lib.format.open_memmap(sys.argv[1], mode="w+", dtype=np.uint8, shape=(2000, 1024, 1024))
for i in range(0, 2000, 100):
    a[i:i + 100] = rng.integers(0, 256, size=(100, 1024, 1024), dtype=np.uint8)
a.flush()
PYEOF
fi
cat "$NPY" > /dev/null

# "wall_s max_rss_kb"
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1; }

echo "stack: $(du -h "$NPY" | cut -f1), $(nproc) cores"
read -r base_s base_kb < <(measure target/release/examples/read_once "$NPY")
echo "read-once baseline (parallel byte sum): ${base_s} s, peak RSS ${base_kb} KB"
printf '%-7s %12s %12s %14s %14s\n' op stackscope_s numpy_s stackscope_kb numpy_kb
for op in mean sum max min std median; do
  read -r s_s s_kb < <(measure "$BIN" reduce "$NPY" --op "$op" -o "$D/$op.npy" --force)
  case $op in
    mean) expr="a.mean(0)";; sum) expr="a.sum(0)";; max) expr="a.max(0)";; min) expr="a.min(0)";;
    std) expr="a.std(0)";; median) expr="np.median(a, 0)";;
  esac
  read -r n_s n_kb < <(measure "$PY" -c "import numpy as np; a = np.load('$NPY', mmap_mode='r'); $expr")
  printf '%-7s %12s %12s %14s %14s\n' "$op" "$s_s" "$n_s" "$s_kb" "$n_kb"
done

echo
for w in 10 500; do
  read -r s_s s_kb < <(measure "$BIN" roi "$NPY" --range 0:500 --subtract --window "$w" --rect 100,100,100,100 -o "$D/sliding_$w.csv" --force)
  echo "sliding normalization pass (500 frames, w = $w) + ROI: ${s_s} s, RSS ${s_kb} KB"
done
read -r s_s _ < <(measure "$BIN" roi "$NPY" --rect 100,100,100,100 -o "$D/roi.csv" --force)
echo "ROI curve, 100×100 rectangle over 2000 frames (whole CLI run incl. open): ${s_s} s"
