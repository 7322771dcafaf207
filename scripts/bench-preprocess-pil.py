"""Peer for `npm run bench` (section "ingest"): CLIP preprocessing with Pillow + numpy, exactly as
transformers' CLIPImageProcessor does it (exif_transpose, convert RGB, shortest edge 224 bicubic,
centre crop, rescale in float64 cast to float32, normalise in float32, CHW), timed per photo.

    python bench-preprocess-pil.py <file>...   -> JSON on stdout

Prints per-photo wall and CPU milliseconds for `reps` passes (median taken by the caller) and the
sha256 of each float32 tensor, so the bench can show the two implementations agree bit for bit.
"""
import hashlib
import io
import json
import os
import sys
import time

import numpy as np
from PIL import Image, ImageOps

SIZE = 224
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def preprocess(data: bytes) -> np.ndarray:
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if im.mode != "RGB":  # transformers' convert_to_rgb: composite onto white, then drop alpha
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255)), im.convert("RGBA")).convert("RGB")
    w, h = im.size
    tw, th = (SIZE, int(SIZE * h / w)) if w <= h else (int(SIZE * w / h), SIZE)
    a = np.asarray(im.resize((tw, th), Image.BICUBIC))
    top, left = (th - SIZE) // 2, (tw - SIZE) // 2
    a = a[top:top + SIZE, left:left + SIZE]
    x = (a.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)


def main() -> None:
    files = sys.argv[1:]
    reps = int(os.environ.get("BENCH_REPS", "3"))
    blobs = [open(f, "rb").read() for f in files]
    hashes = [hashlib.sha256(preprocess(b).astype("<f4").tobytes()).hexdigest() for b in blobs]  # also warms up
    passes = []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        for b in blobs:
            preprocess(b)
        passes.append({"wallMs": (time.perf_counter() - t) * 1e3 / len(blobs), "cpuMs": (time.process_time() - c) * 1e3 / len(blobs)})
    import PIL
    print(json.dumps({"pillow": PIL.__version__, "numpy": np.__version__, "passes": passes, "sha256": hashes}))


if __name__ == "__main__":
    main()
