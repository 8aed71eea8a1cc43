#!/usr/bin/env python3
"""Writes the intake-faces test fixtures from real photographs and two reference engines.

Images: scikit-image's astronaut() (a portrait) and chelsea() (a cat), plus composites made from them.
For each image this writes, under faces/tests/fixtures/:
  <name>.rgb.z   zlib( u32 LE width, u32 LE height, packed RGB8 rows )   -- what the Rust test detects on
  <name>.ref.z   zlib( for each model output in the model's order: u32 LE count, count f32 LE )
                 -- onnxruntime's raw outputs for the network input the crate builds (BGR, 0..255,
                 zero-padded to a multiple of 32 at the right and bottom), written only for `REF_IMAGES`
  astronaut_295x413.jpg, chelsea.jpg  JPEGs for the CLI's test (`intake check photo --json` reports faces):
                 the astronaut framed as an ID photo (5:7, 295 x 413) and the cat
  expected.json  per image: OpenCV FaceDetectorYN's detections (an independent decoder + NMS on the same
                 model, OpenCV's own DNN engine) and OpenCV Haar cascade faces/eyes (an independent detector)

Reproduce (the versions these fixtures were generated with; OpenCV 5.x has no CascadeClassifier, and
OpenCV 4's importer needs the static-shape copy `static_model` makes). Re-running rewrites the same bytes.
  python3 -m venv .venv && .venv/bin/pip install onnx==1.23.2 onnxruntime==1.32.0 scikit-image==0.26.0 \
      opencv-python-headless==4.14.0.94 numpy==2.4.6
  .venv/bin/python faces/scripts/make_fixtures.py
"""
import json
import os
import struct
import zlib

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import skimage.data

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "model", "yunet_n_dynamic.onnx")
OUT = os.path.join(HERE, "..", "tests", "fixtures")
REF_IMAGES = {"astronaut", "chelsea"}
SCORE = 0.6
NMS = 0.3


def area_resize(img, w, h):
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def images():
    ast = skimage.data.astronaut()  # 512x512 RGB
    cat = skimage.data.chelsea()  # 451x300 RGB
    out = {}
    out["astronaut"] = area_resize(ast, 256, 256)
    out["chelsea"] = area_resize(cat, 300, 200)
    small = area_resize(ast, 192, 192)
    out["two_astronauts"] = np.concatenate([small, small[:, ::-1]], axis=1)  # 384x192, the second mirrored
    # Rotated 20 degrees counter-clockwise on screen about the face centre (cv2's positive angle).
    m = cv2.getRotationMatrix2D((224.0, 112.0), 20.0, 1.0)
    rot = cv2.warpAffine(ast, m, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out["astronaut_roll20"] = area_resize(rot, 256, 256)
    # A small, off-centre face on a light grey wall (the face is ~40 px wide).
    wall = np.full((320, 240, 3), (214, 215, 209), np.uint8)
    wall[150:278, 20:148] = area_resize(ast, 128, 128)
    out["astronaut_small_on_wall"] = wall
    return out


def static_model(w, h):
    """OpenCV 4's importer refuses the dynamic Shape ops: a copy with the padded input size fixed."""
    m = onnx.load(MODEL)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    for d, v in zip(dims, (1, 3, -(-h // 32) * 32, -(-w // 32) * 32)):
        d.dim_value = v
    path = os.path.join("/tmp", "yunet_static_%dx%d.onnx" % (w, h))
    onnx.save(m, path)
    return path


def network_input(rgb):
    h, w = rgb.shape[:2]
    ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
    x = np.zeros((1, 3, ph, pw), np.float32)
    x[0, :, :h, :w] = np.transpose(rgb[:, :, ::-1].astype(np.float32), (2, 0, 1))
    return x


def main():
    os.makedirs(OUT, exist_ok=True)
    sess = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    cascades = cv2.data.haarcascades
    face_cc = cv2.CascadeClassifier(os.path.join(cascades, "haarcascade_frontalface_default.xml"))
    eye_cc = cv2.CascadeClassifier(os.path.join(cascades, "haarcascade_eye.xml"))
    expected = {"score_threshold": SCORE, "nms_threshold": NMS, "output_names": names, "images": {}}
    for name, rgb in images().items():
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        with open(os.path.join(OUT, name + ".rgb.z"), "wb") as f:
            f.write(zlib.compress(struct.pack("<II", w, h) + rgb.tobytes(), 9))
        outs = sess.run(None, {"input": network_input(rgb)})
        if name in REF_IMAGES:
            blob = b"".join(struct.pack("<I", o.size) + o.astype("<f4").tobytes() for o in outs)
            with open(os.path.join(OUT, name + ".ref.z"), "wb") as f:
                f.write(zlib.compress(blob, 9))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        det = cv2.FaceDetectorYN.create(static_model(w, h), "", (w, h), SCORE, NMS, 5000)
        _, faces = det.detect(bgr)
        faces = [] if faces is None else [[round(float(v), 3) for v in f] for f in faces]
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        haar = []
        for x, y, fw, fh in face_cc.detectMultiScale(grey, 1.1, 5, minSize=(24, 24)):
            eyes = eye_cc.detectMultiScale(grey[y : y + fh // 2 + fh // 8, x : x + fw], 1.1, 5)
            haar.append(
                {
                    "box": [int(x), int(y), int(fw), int(fh)],
                    "eyes": [[int(x + ex + ew / 2), int(y + ey + eh / 2)] for ex, ey, ew, eh in eyes],
                }
            )
        best = max(float(np.max(np.sqrt(np.clip(outs[i], 0, 1) * outs[i + 3]))) for i in range(3))
        expected["images"][name] = {
            "width": w,
            "height": h,
            "opencv_yunet": faces,
            "haar": haar,
            "best_score": round(best, 4),
        }
        print(name, w, h, "yunet faces:", len(faces), "haar:", haar, "best score %.3f" % best)
    ast = skimage.data.astronaut()
    portrait = area_resize(ast[0:358, 96:352], 295, 413)  # 256 x 358 is 5:7, the face in its upper half
    cv2.imwrite(os.path.join(OUT, "astronaut_295x413.jpg"), portrait[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(os.path.join(OUT, "chelsea.jpg"), skimage.data.chelsea()[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
