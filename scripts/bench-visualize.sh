#!/usr/bin/env bash
# Audio → video against its peers, one run: 60 s of speech (espeak-ng; a generated chord
# progression where espeak-ng is missing), 1280×720 at 24 fps, x264 veryfast, AAC:
#   1. stackscope visualize --style bars | circular | spectrogram | waveform
#   2. the peer: ffmpeg showfreqs (bars) and showspectrum (scrolling spectrogram)
#   3. the floor: x264 + AAC alone on the very frames (1) drew (decoded from a lossless
#      render) and the same audio: what encoding costs with no visuals to draw
# Commands take turns, median of $RUNS; wall, CPU and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
D=bench-data/visualize
mkdir -p "$D"
cargo build --release -q
BIN=target/release/stackscope
if [ ! -f "$D/a.mp3" ]; then
  if command -v espeak-ng >/dev/null; then
    espeak-ng -w "$D/speech.wav" "The quick brown fox jumps over the lazy dog. Researchers \
open image stacks, look at them, analyse them and export them as video. Stackscope streams \
every frame from disk to the encoder without temporary files. Audio becomes a video whose \
picture follows the sound: bars, a circle, a spectrogram or the waveform."
    ffmpeg -hide_banner -loglevel error -y -stream_loop -1 -i "$D/speech.wav" -t 60 \
      -c:a libmp3lame -b:a 128k "$D/a.mp3"
  else
    ffmpeg -hide_banner -loglevel error -y -f lavfi \
      -i "aevalsrc='0.2*sin(2*PI*220*t)+0.1*sin(2*PI*330*t)+0.05*sin(2*PI*1320*t)*sin(2*PI*0.5*t)':s=44100:d=60" \
      -c:a libmp3lame -b:a 128k "$D/a.mp3"
  fi
fi
SIZE=1280x720; FPS=24

# "wall cpu maxrss_kb" of one run
measure() { /usr/bin/time -f "%e %U %S %M" "$@" 2>&1 >/dev/null | tail -n 1 | awk '{print $1, $2 + $3, $4}'; }
mid() { printf '%s\n' "$@" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
col() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }

printf '%-26s %8s %8s %10s\n' "" "wall s" "cpu s" "rss KB"
row() { printf '%-26s %8s %8s %10s\n' "$1" "$(col 1 "${@:2}")" "$(col 2 "${@:2}")" "$(col 3 "${@:2}")"; }
for style in bars circular spectrogram waveform; do
  # The floor's input: exactly the frames stackscope draws, losslessly.
  "$BIN" visualize "$D/a.mp3" -o "$D/lossless-$style.mp4" --style "$style" --size $SIZE \
    --fps $FPS --crf 0 --preset ultrafast --force >/dev/null
  ffmpeg -hide_banner -loglevel error -y -i "$D/lossless-$style.mp4" -f rawvideo \
    -pix_fmt yuv420p "$D/frames.yuv"
  ours=(); floor=(); peer=()
  case $style in
    bars) filter="showfreqs=s=$SIZE:mode=bar" ;;
    spectrogram) filter="showspectrum=s=$SIZE:slide=scroll" ;;
    *) filter="" ;;
  esac
  for _ in $(seq "$RUNS"); do
    ours+=("$(measure "$BIN" visualize "$D/a.mp3" -o "$D/$style.mp4" --style "$style" \
      --size $SIZE --fps $FPS --preset veryfast --force)")
    floor+=("$(measure ffmpeg -hide_banner -loglevel error -y -f rawvideo -pix_fmt yuv420p \
      -s $SIZE -r $FPS -i "$D/frames.yuv" -i "$D/a.mp3" -map 0:v -map 1:a -c:v libx264 \
      -preset veryfast -c:a aac "$D/floor.mp4")")
    if [ -n "$filter" ]; then
      peer+=("$(measure ffmpeg -hide_banner -loglevel error -y -i "$D/a.mp3" -filter_complex \
        "[0:a]$filter,format=yuv420p[v]" -map "[v]" -map 0:a -c:v libx264 -preset veryfast \
        -c:a aac "$D/peer-$style.mp4")")
    fi
  done
  row "stackscope $style" "${ours[@]}"
  row "  x264+aac floor" "${floor[@]}"
  [ -n "$filter" ] && row "  ffmpeg ${filter%%=*}" "${peer[@]}"
  s=$(col 1 "${ours[@]}"); f=$(col 1 "${floor[@]}")
  line="  stackscope/floor $(echo "scale=3; $s / $f" | bc)"
  if [ -n "$filter" ]; then
    p=$(col 1 "${peer[@]}")
    frames=$(ffprobe -v error -count_packets -select_streams v -show_entries stream=nb_read_packets -of csv=p=0 "$D/peer-$style.mp4")
    line="$line, stackscope/peer $(echo "scale=3; $s / $p" | bc) (peer wrote $frames frames, stackscope 1440)"
  fi
  echo "$line"
done
rm -f "$D/frames.yuv"
