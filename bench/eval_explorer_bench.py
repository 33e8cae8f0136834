#!/usr/bin/env python3
"""The evaluation explorer at scale: an evaluation of N predictions (100,000 by
default, 10 labels), then the latency of the cell -> items API and the page in
Chromium.

The evaluation is made through the product's own path, end to end: an image
project of N + 3,000 tiny 8x8 PNGs (N in the test split, 3,000 in train)
imported with `fsml import`, `fsml data commit`, a one-epoch mlp trained with
`fsml train` and registered, then `POST /api/v1/evaluations` on `fsml serve`
(the server runs the model over the N test items and stores the predictions
object and row, as `fsml eval` does). Labels follow the image pattern with 20%
flipped, so every row of the confusion matrix has off-diagonal cells.

Then, on the same server:
- the cold request: the first items request of the evaluation (decodes the
  predictions object and sorts its first cell);
- p50/p90/p99 of R requests (400) over random cells (non-empty), both sorts,
  random pages of 48, from one keep-alive client;
- in headless Chromium (playwright-core from tests/browser/node_modules,
  /usr/bin/chromium): navigation to the confusion matrix visible, and a cell
  click to its item grid visible (median of 5, and the first).

No peer runs here: FiftyOne (the tool a user would pick instead) comes from
PyPI, which this machine cannot reach, so there is no side-by-side number.

    bench/eval_explorer_bench.py [--fsml build/src/fsml] [--items 100000] [--requests 400] [--no-browser]
"""
import argparse
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import requests

LABELS = [f"c{i}" for i in range(10)]


def png(seed, cls):
    """An 8x8 grayscale PNG whose pattern depends on its class; the seed's bytes in the last row make each unique."""
    rows = [bytes(((x + y) * 25 * (cls + 1) + (seed * 7 + x * y) % 17) % 256 for x in range(8)) for y in range(7)]
    rows.append(seed.to_bytes(8, "little"))
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fsml", default="build/src/fsml")
    ap.add_argument("--items", type=int, default=100000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    fsml = os.path.abspath(args.fsml)
    tmp = tempfile.mkdtemp(prefix="fsml-eval-bench-")
    ws = os.path.join(tmp, "ws")
    run = lambda *a: subprocess.run([fsml, "-q", *a], cwd=ws, check=True, capture_output=True, text=True).stdout
    subprocess.run([fsml, "-q", "init", ws], check=True)
    run("project", "create", "bench", "--type", "image-classification", "--labels", ",".join(LABELS))
    t = time.time()
    img = os.path.join(tmp, "img")
    os.makedirs(img)
    with open(os.path.join(tmp, "items.jsonl"), "w") as f:
        for i in range(args.items + 3000):
            cls = i % 10
            name = f"{i}.png"
            with open(os.path.join(img, name), "wb") as out:
                out.write(png(i, cls))
            label = LABELS[cls] if rng.random() > 0.2 else LABELS[rng.randrange(10)]
            f.write(json.dumps({"image": os.path.join(img, name), "label": label,
                                "split": "test" if i < args.items else "train"}) + "\n")
    run("import", "bench", os.path.join(tmp, "items.jsonl"), "--format", "jsonl")
    run("data", "commit", "bench", "-m", "bench")
    run("train", "bench@v1", "--model", "mlp", "--epochs", "1", "--batch-size", "64", "--seed", "1")
    run("models", "register", "1", "--name", "bench")
    print(f"setup (images, import, commit, train) {time.time() - t:.1f} s", file=sys.stderr)

    password = "bench-admin-1"
    env = dict(os.environ, FSML_ADMIN_PASSWORD=password)
    srv = subprocess.Popen([fsml, "serve", "--listen", "127.0.0.1:0", "--access-log", "off", "--workers", "0"], cwd=ws,
                           env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "serve.err"), "w"), text=True)
    try:
        url = re.match(r"listening on (\S+)", srv.stdout.readline()).group(1)
        s = requests.Session()
        login = s.post(url + "/api/v1/auth/login", json={"name": "admin", "password": password}).json()
        s.headers["X-CSRF-Token"] = login["csrf_token"]
        t = time.time()
        job = s.post(url + "/api/v1/evaluations", json={"model": "bench/1", "data": "bench@v1", "split": "test"}).json()
        while job["state"] not in ("done", "failed"):
            time.sleep(0.5)
            job = s.get(f"{url}/api/v1/evaluations/jobs/{job['id']}").json()
        if job["state"] != "done":
            sys.exit(f"evaluation failed: {job['error']}")
        eval_seconds = time.time() - t
        eid = job["evaluation_id"]
        e = s.get(f"{url}/api/v1/evaluations/{eid}").json()
        cm = e["metrics"]["confusion"]
        cells = [(t_, p_) for t_ in range(10) for p_ in range(10) if cm[t_][p_] > 0]
        worst = max(((t_, p_) for t_, p_ in cells if t_ != p_), key=lambda c: cm[c[0]][c[1]], default=cells[0])

        def items(t_, p_, sort, offset):
            t0 = time.perf_counter()
            r = s.get(f"{url}/api/v1/evaluations/{eid}/items",
                      params={"true": LABELS[t_], "pred": LABELS[p_], "sort": sort, "offset": offset, "limit": 48})
            ms = (time.perf_counter() - t0) * 1000
            assert r.status_code == 200, r.text
            return ms

        cold = items(*worst, "-confidence", 0)
        lat = []
        for _ in range(args.requests):
            t_, p_ = rng.choice(cells)
            pages = max(1, (cm[t_][p_] + 47) // 48)
            lat.append(items(t_, p_, rng.choice(["confidence", "-confidence"]), 48 * rng.randrange(pages)))
        browser = None
        if not args.no_browser:
            here = os.path.dirname(os.path.abspath(__file__))
            out = subprocess.run(["node", os.path.join(here, "eval_explorer_browser.mjs"), url, str(eid), LABELS[worst[0]],
                                  LABELS[worst[1]], password, "5"], capture_output=True, text=True, timeout=300)
            if out.returncode == 0:
                browser = json.loads(out.stdout.strip().splitlines()[-1])
            else:
                print("browser part failed:", out.stderr[-2000:], file=sys.stderr)
    finally:
        srv.terminate()
        srv.wait(timeout=60)
        subprocess.run(["rm", "-rf", tmp])

    print(f"\ncommand: {' '.join([os.path.relpath(sys.argv[0])] + sys.argv[1:])}")
    print(f"evaluation #{eid}: {e['metrics']['items']:,} predictions, {len(LABELS)} labels, {len(cells)} non-empty cells; "
          f"POST /api/v1/evaluations to done: {eval_seconds:.1f} s")
    print("\n| measure | value |\n| --- | --- |")
    print(f"| cell -> items, cold (first request: decode + first cell's sort) | {cold:.1f} ms |")
    print(f"| cell -> items, warm, {args.requests} requests: p50 | {pct(lat, 50):.2f} ms |")
    print(f"| cell -> items, warm: p90 | {pct(lat, 90):.2f} ms |")
    print(f"| cell -> items, warm: p99 | {pct(lat, 99):.2f} ms |")
    print(f"| cell -> items, warm: max | {max(lat):.2f} ms |")
    if browser:
        print(f"| page: navigation -> confusion matrix visible (median of {browser['runs']}; first) | "
              f"{browser['matrix_ms']:.0f} ms; {browser['first_matrix_ms']:.0f} ms |")
        print(f"| page: cell click -> item grid visible (median; first) | {browser['grid_ms']:.0f} ms; "
              f"{browser['first_grid_ms']:.0f} ms |")
    print("\nPeer: none. FiftyOne cannot be installed here (no PyPI access), so there is no side-by-side figure.")


if __name__ == "__main__":
    main()
