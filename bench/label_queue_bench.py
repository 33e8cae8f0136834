#!/usr/bin/env python3
"""Next-item latency of the labeling queue: a text project with N items (200,000
by default), `fsml serve`, and C concurrent annotators (20) each looping
"GET queue/next?n=1, POST the label" for D seconds. Prints p50/p90/p99 of the
next-item call and of the label call, as the clients saw them (loopback HTTP,
keep-alive, one connection per annotator).

--rate R paces each annotator at R labels per second (a fast human labels about
one a second); --rate 0 (the default) labels as fast as the server answers, which
measures the server saturated: 20 clients waiting on each other's turns, on the
same two cores as the server.

    bench/label_queue_bench.py [--fsml build/src/fsml] [--items 200000] [--annotators 20] [--seconds 20] [--rate R]
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fsml", default="build/src/fsml")
    ap.add_argument("--items", type=int, default=200000)
    ap.add_argument("--annotators", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=float, default=0, help="labels per second per annotator (0: as fast as possible)")
    args = ap.parse_args()
    fsml = os.path.abspath(args.fsml)
    tmp = tempfile.mkdtemp(prefix="fsml-label-bench-")
    ws = os.path.join(tmp, "ws")
    run = lambda *a: subprocess.run([fsml, "-q", *a], cwd=ws if os.path.isdir(ws) else tmp, check=True,
                                    capture_output=True, text=True).stdout
    subprocess.run([fsml, "-q", "init", ws], check=True)
    run("project", "create", "queue", "--type", "text-classification", "--labels", "pos,neg,neutral")
    with open(os.path.join(tmp, "items.jsonl"), "w") as f:
        for i in range(args.items):
            f.write(json.dumps({"text": f"item {i} {uuid.uuid4().hex}"}) + "\n")
    t = time.time()
    run("import", "queue", os.path.join(tmp, "items.jsonl"), "--format", "jsonl")
    print(f"imported {args.items:,} items in {time.time() - t:.1f} s", file=sys.stderr)
    pw = os.path.join(tmp, "pw")
    open(pw, "w").write("bench-password-1\n")
    tokens = []
    for i in range(args.annotators):
        run("user", "add", f"a{i}", "--role", "annotator", "--password-file", pw)
        tokens.append(run("token", "create", f"t{i}", "--user", f"a{i}").strip().splitlines()[-1])
    env = dict(os.environ, FSML_ADMIN_PASSWORD="bench-admin-1")
    srv = subprocess.Popen([fsml, "serve", "--listen", "127.0.0.1:0", "--access-log", "off", "--workers", "0"], cwd=ws,
                           env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "serve.err"), "w"), text=True)
    url = re.match(r"listening on (\S+)", srv.stdout.readline()).group(1)
    # The first call builds the 200k-item task table (once per project).
    t = time.time()
    requests.get(url + "/api/v1/projects/queue/queue/next?n=1", headers={"Authorization": "Bearer " + tokens[0]})
    print(f"first queue call (task table for {args.items:,} items): {time.time() - t:.2f} s", file=sys.stderr)
    next_ms, label_ms, errors = [], [], []
    stop = time.time() + args.seconds
    lock = threading.Lock()

    def annotator(token):
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + token
        mine_next, mine_label = [], []
        gap = 1 / args.rate if args.rate > 0 else 0
        # Paced annotators start at random offsets, as people do.
        due = time.perf_counter() + (random.random() * gap if gap else 0)
        while time.time() < stop:
            if gap:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += gap
            t0 = time.perf_counter()
            r = s.get(url + "/api/v1/projects/queue/queue/next?n=1")
            t1 = time.perf_counter()
            if r.status_code != 200 or not r.json()["items"]:
                errors.append(r.status_code)
                continue
            mine_next.append((t1 - t0) * 1000)
            item = r.json()["items"][0]["item_id"]
            t0 = time.perf_counter()
            r = s.post(url + "/api/v1/projects/queue/annotations",
                       json={"annotations": [{"item_id": item, "label": "pos", "request_id": uuid.uuid4().hex}]})
            mine_label.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                errors.append(r.status_code)
        with lock:
            next_ms.extend(mine_next)
            label_ms.extend(mine_label)

    threads = [threading.Thread(target=annotator, args=(tok,)) for tok in tokens]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    srv.terminate()
    srv.wait()
    print(f"| call | n | p50 ms | p90 ms | p99 ms |")
    print(f"| --- | --- | --- | --- | --- |")
    for name, v in (("GET queue/next?n=1", next_ms), ("POST annotations", label_ms)):
        print(f"| {name} | {len(v):,} | {pct(v, 50):.2f} | {pct(v, 90):.2f} | {pct(v, 99):.2f} |")
    pace = f"each at {args.rate:g} labels/s" if args.rate > 0 else "each as fast as the server answers"
    print(f"\n{args.items:,} items, {args.annotators} annotators ({pace}), {args.seconds:.0f} s: "
          f"{len(label_ms) / args.seconds:.0f} labels/s in all; errors: {len(errors)}")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
