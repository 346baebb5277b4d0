#!/usr/bin/env bash
# speech_rate beyond English: 60 s of German speech (espeak-ng, voice de+m1 at 165 words a
# minute, 1 s pauses) with whisper base and language detection (VAD-gated, the default), and
# the word error rate of whisper tiny.en and base on 60 s of English (en-us at 150) against
# the script. Median wall time of $RUNS runs per row, as a fraction of real time; WER and the
# detected language from the last run. Needs the models: stackscope models install --all.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
D=bench-data/speech-languages
mkdir -p "$D"
cargo build --release -q --bin stackscope
BIN=target/release/stackscope

# clip NAME VOICE SPEED FILE_OF_SENTENCES: sentences with 1 s pauses until 58 s, padded to
# 60 s; NAME.txt holds the sentences spoken.
clip() {
  local name=$1 voice=$2 speed=$3 sentences=$4
  [ -f "$D/$name.wav" ] && return
  python3 - "$D" "$name" "$voice" "$speed" "$sentences" <<'PY'
import subprocess, sys, wave
d, name, voice, speed, sentences = sys.argv[1:]
lines = [l.strip() for l in open(sentences) if l.strip()]
frames, spoken, rate = b"", [], None
i = 0
while True:
    text = lines[i % len(lines)]
    part = f"{d}/{name}-part.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", part, text], check=True)
    with wave.open(part) as w:
        rate = w.getframerate()
        audio = w.readframes(w.getnframes())
    pause = b"\0\0" * rate
    if (len(frames) + len(audio) + len(pause)) / 2 / rate > 58:
        break
    frames += audio + pause
    spoken.append(text)
    i += 1
frames += b"\0\0" * (60 * rate - len(frames) // 2)
with wave.open(f"{d}/{name}.wav", "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(frames)
open(f"{d}/{name}.txt", "w").write("\n".join(spoken) + "\n")
PY
}

cat > "$D/de-sentences.txt" <<'EOF'
Das Wetter ist heute schön und die Sonne scheint.
Bitte öffne das Fenster, bevor du das Zimmer verlässt.
Wir haben das Signal den ganzen Tag jede Sekunde gemessen.
Mein Bruder hat letzte Woche ein neues Auto gekauft.
Die Kinder spielen nach der Schule im Garten.
Sie liest jeden Abend vor dem Essen ein Buch.
Die Straße ist lang und groß.
Der Zug in die Stadt fährt um halb neun ab.
Unser Team hat das Projekt zwei Tage früher beendet.
Er hat seine Schlüssel schon wieder auf dem Küchentisch vergessen.
Das Museum öffnet um neun und schließt um fünf.
Sie gingen am Fluss entlang, bis es dunkel wurde.
EOF
cat > "$D/en-sentences.txt" <<'EOF'
The weather is nice today and the sun is shining.
Please open the window before you leave the room.
We measured the signal every second all day long.
My brother bought a new car last week.
The children are playing in the garden after school.
She reads a book every evening before dinner.
The train to the city leaves at half past eight.
Our team finished the project two days early.
He forgot his keys on the kitchen table again.
The museum opens at nine and closes at five.
They walked along the river until it got dark.
Water boils when it gets very hot.
EOF
clip de de+m1 165 "$D/de-sentences.txt"
clip en en-us 150 "$D/en-sentences.txt"

wall() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }

printf '%-28s %8s %8s %7s  %s\n' "" "wall s" "× RT" "WER" "language (probability), words"
row() {
  local label=$1 name=$2; shift 2
  local out="$D/$name-$label.json" times=()
  for _ in $(seq "$RUNS"); do
    times+=("$(wall "$BIN" analyze "$D/$name.wav" -a speech-rate -o "$out" --force "$@")")
  done
  local t; t=$(printf '%s\n' "${times[@]}" | median)
  python3 - "$out" "$D/$name.txt" "$label / $name" "$t" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
norm = lambda text: ["".join(c for c in w if c.isalnum() or c == "'").lower() for w in text.split()]
ref = [w for w in norm(open(sys.argv[2]).read()) if w]
hyp = [w for w in norm(s["transcript"]) if w]
prev = list(range(len(hyp) + 1))
for i, r in enumerate(ref):
    cur = [i + 1] * (len(hyp) + 1)
    for j, h in enumerate(hyp):
        cur[j + 1] = min(prev[j] + (r != h), prev[j + 1] + 1, cur[j] + 1)
    prev = cur
wer = prev[-1] / max(len(ref), 1)
wall = float(sys.argv[4])
p = s.get("language_probability")
lang = f'{s.get("language")} ({p:.2f})' if p is not None else f'{s.get("language")} ({s.get("language_source")})'
print(f"{sys.argv[3]:<28} {wall:8.2f} {wall / 60:8.3f} {wer:7.3f}  {lang}, {s['words']} of {len(ref)} words")
PY
}
row base de --whisper-model whisper-base
row base-given-de de --whisper-model whisper-base --language de
row tiny.en en --whisper-model whisper-tiny.en
row base en --whisper-model whisper-base
