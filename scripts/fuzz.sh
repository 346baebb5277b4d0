#!/usr/bin/env bash
# Coverage-guided fuzzing of stackscope's readers with cargo-afl (AFL++; builds on the
# stable toolchain). Usage: scripts/fuzz.sh [SECONDS per target] [TARGET…]
# Targets: npy tiff image audio video (default: all). Seeds: fuzz/corpus/TARGET. Crashes are
# copied to fuzz/regressions/TARGET, which `cargo test --test fuzz_corpus` replays on every run.
# Prints per target: executions, seconds, crashes found.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(npy tiff image audio video)

if ! cargo afl --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-afl"
  cargo install cargo-afl --locked
fi
# The AFL++ runtime, built once per cargo-afl version.
cargo afl config --build >/dev/null 2>&1 || true
(cd fuzz && cargo afl build --quiet)

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_SKIP_CRASHES=1 AFL_AUTORESUME=1
printf '%-7s %12s %8s %8s %6s\n' target executions seconds crashes hangs
for t in "${targets[@]}"; do
  out="fuzz/out/$t"
  mkdir -p "$out" "fuzz/regressions/$t"
  # -t: per-input timeout in ms (a decode that long is itself a finding).
  (cd fuzz && cargo afl fuzz -i "corpus/$t" -o "out/$t" -V "$seconds" -t 5000 -m none \
      "target/debug/$t" >"out/$t.log" 2>&1) || true
  stats="$out/default/fuzzer_stats"
  execs=$(awk -F': ' '/^execs_done/ {print $2}' "$stats" 2>/dev/null || echo 0)
  run=$(awk -F': ' '/^run_time/ {print $2}' "$stats" 2>/dev/null || echo 0)
  crashes=0
  for c in "$out"/default/crashes/id:*; do
    [ -e "$c" ] || continue
    crashes=$((crashes + 1))
    cp "$c" "fuzz/regressions/$t/$(sha256sum "$c" | cut -c1-16)"
  done
  # Inputs past the time limit are findings too (a parser that backtracks, a loop).
  hangs=0
  for c in "$out"/default/hangs/id:*; do
    [ -e "$c" ] || continue
    hangs=$((hangs + 1))
    cp "$c" "fuzz/regressions/$t/hang-$(sha256sum "$c" | cut -c1-16)"
  done
  printf '%-7s %12s %8s %8s %6s\n' "$t" "${execs:-0}" "${run:-0}" "$crashes" "$hangs"
done
