"""The Python peer of `stackscope analyze -a text_overlay`: RapidOCR's default pipeline
(rapidocr 3.x: PP-OCRv6 small detection and recognition; rapidocr-onnxruntime 1.4.4:
PP-OCRv4; both with the angle classifier), whichever is installed, on the frames
stackscope samples from a clip, in one run. Frames are decoded with OpenCV and picked by the
same rule stackscope uses (the first frame of each 1/fps bin).

Prints one JSON line: seconds spent loading, decoding and reading, and what was read.
"""

import json
import math
import sys
import time

t0 = time.perf_counter()
import cv2  # noqa: E402
try:
    from rapidocr import RapidOCR  # noqa: E402

    V3 = True
except ImportError:
    from rapidocr_onnxruntime import RapidOCR  # noqa: E402

    V3 = False

clip, fps = sys.argv[1], float(sys.argv[2])
engine = RapidOCR()
loaded = time.perf_counter()

cap = cv2.VideoCapture(clip)
clip_fps = cap.get(cv2.CAP_PROP_FPS)
frames, last_bin, index = [], None, 0
while True:
    ok, frame = cap.read()
    if not ok:
        break
    t = index / clip_fps
    b = math.floor(t * fps + 1e-6)
    if b != last_bin:
        frames.append(frame)
        last_bin = b
    index += 1
decoded = time.perf_counter()

texts = []
for frame in frames:
    if V3:
        read = engine(frame).txts or ()
    else:
        result, _ = engine(frame)
        read = [r[1] for r in result] if result else []
    texts.append(" | ".join(read))
done = time.perf_counter()

print(json.dumps({
    "frames": len(frames),
    "load_s": round(loaded - t0, 3),
    "decode_s": round(decoded - loaded, 3),
    "ocr_s": round(done - decoded, 3),
    "total_s": round(done - t0, 3),
    "distinct_texts": len(set(t for t in texts if t)),
    "first_texts": [t for t in dict.fromkeys(texts) if t][:3],
}))
