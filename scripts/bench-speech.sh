#!/usr/bin/env bash
# speech_rate on 60 s of espeak-ng speech, with VAD gating (whisper only on the speech, packed
# into 30 s windows) against whisper over the whole audio (--no-vad), on two clips:
#   half:  sentences separated by 3–4 s pauses, about half silence
#   dense: the same sentences with 0.4 s pauses, mostly speech
# Gated and whole runs alternate; median of $RUNS; wall, CPU and peak RSS, the real-time
# factor, and the speed-up gating gives (ratio of the medians, and of each pair).
# Needs the models: stackscope models install --all.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
D=bench-data/speech
mkdir -p "$D"
cargo build --release -q
BIN=target/release/stackscope

SENTENCES=(
  "The weather is nice today and the sun is shining."
  "Please open the window before you leave the room."
  "We measured the signal every second for ten minutes."
  "My brother bought a new car last week."
  "The children are playing in the garden after school."
  "She reads a book every evening before dinner."
  "The train to the city leaves at half past eight."
  "Our team finished the project two days early."
  "He forgot his keys on the kitchen table again."
  "The museum opens at nine and closes at five."
  "They walked along the river until it got dark."
  "Water boils at one hundred degrees."
)

# clip NAME PAUSE_SECONDS: the sentences, then silence, cut or padded to exactly 60 s.
clip() {
  local name=$1 pause=$2 list="$D/$1.txt"
  [ -f "$D/$name.wav" ] && return
  : > "$list"
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "anullsrc=r=22050:cl=mono" -t "$pause" \
    -c:a pcm_s16le "$D/pause-$name.wav"
  for i in $(seq 0 23); do
    local n=$((i % ${#SENTENCES[@]}))
    [ -f "$D/s$n.wav" ] || espeak-ng -v en-us -s 150 -w "$D/s$n.wav" "${SENTENCES[$n]}"
    echo "file 's$n.wav'" >> "$list"
    echo "file 'pause-$name.wav'" >> "$list"
  done
  ffmpeg -hide_banner -loglevel error -y -f concat -safe 0 -i "$list" -af apad -t 60 \
    -c:a pcm_s16le "$D/$name.wav"
}
clip half 3.5
clip dense 0.4

measure() { /usr/bin/time -f "%e %U %S %M" "$@" 2>&1 >/dev/null | tail -n 1 | awk '{print $1, $2 + $3, $4}'; }
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }

args_for() {
  local name=$1 mode=$2
  printf '%s\n' analyze -a speech-rate -o "$D/$name-$mode.json" --force "$D/$name.wav"
  [ "$mode" = whole ] && echo --no-vad
  return 0
}
row() {
  local name=$1 mode=$2; shift 2
  local wall; wall=$(col 1 "$@")
  local info; info=$(python3 -c "
import json; s = json.load(open('$D/$name-$mode.json'))['summary']
print(f\"{s['speech_seconds']} s, {s['whisper_windows']}, {s['words']}, {s['words_per_minute_speaking']}\")")
  printf '%-22s %8s %8s %10s %8s %s\n' "$name / $mode" "$wall" "$(col 2 "$@")" \
    "$(col 3 "$@")" "$(awk -v w="$wall" 'BEGIN{printf "%.3f", w / 60}')" "$info"
}

printf '%-22s %8s %8s %10s %8s %s\n' "" "wall s" "cpu s" "rss KB" "× RT" "speech, windows, words, wpm"
for name in half dense; do
  # Gated and whole runs alternate, so that a busy spell on a shared machine hits both.
  gated=() whole=() ratios=()
  for _ in $(seq "$RUNS"); do
    mapfile -t a < <(args_for "$name" vad)
    g=$(measure "$BIN" "${a[@]}")
    mapfile -t a < <(args_for "$name" whole)
    w=$(measure "$BIN" "${a[@]}")
    gated+=("$g") whole+=("$w")
    ratios+=("$(awk -v g="${g%% *}" -v w="${w%% *}" 'BEGIN{printf "%.2f", w / g}')")
  done
  row "$name" vad "${gated[@]}"
  row "$name" whole "${whole[@]}"
  printf '%-22s %8s   (each pair: %s)\n' "$name: gating speed-up" \
    "$(awk -v g="$(col 1 "${gated[@]}")" -v w="$(col 1 "${whole[@]}")" 'BEGIN{printf "%.2f×", w / g}')" \
    "$(printf '%s\n' "${ratios[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//')"
done
