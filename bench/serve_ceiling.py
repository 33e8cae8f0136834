#!/usr/bin/python3
"""The ceiling row of bench/serve_bench.sh: how many images per second the
bare model computes, in Python torch (Debian's python3-torch) with the weights
`fsml models export` wrote (its fsml_model.py), in batches, on --threads
threads. No HTTP, no PNG decoding: PNGs are decoded and preprocessed once
before timing; what is timed is model(x).softmax(1) + top-5 per batch.

    bench/serve_ceiling.py --model EXPORT_DIR --pngs LIST [--batch 64] [--threads 2] [--seconds 5]

Prints one JSON line: images/s, batches, seconds, torch version, threads."""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--pngs", required=True, help="a file listing PNG paths, one per line")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.model))
    from fsml_model import load, preprocess

    torch.set_num_threads(a.threads)
    model, spec = load(a.model)
    i = spec["input"]
    mode = {1: "L", 3: "RGB"}[i["channels"]]
    files = [line.strip() for line in open(a.pngs) if line.strip()]
    images = np.stack([np.asarray(Image.open(f).convert(mode), dtype=np.uint8) for f in files])
    reps = -(-a.batch // len(images))
    x = preprocess(np.concatenate([images] * reps)[:a.batch], spec)

    def step():
        with torch.inference_mode():
            model(x).softmax(1).topk(5)

    for _ in range(20):  # warm-up
        step()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= a.seconds:
            break
    print(json.dumps({"images_per_s": n * a.batch / elapsed, "batches": n, "batch": a.batch, "seconds": elapsed,
                      "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
