#!/usr/bin/env python3
"""Latency of the run list, `GET /api/v1/runs`, over a workspace of N training
runs (10,000 by default) with E epochs each (10).

The runs are made by the product: a tiny image project is imported and
committed, and `fsml train` records one real one-epoch run (the `runs` row,
its `run_epochs`, its checkpoint). That run's rows are then copied N times in
one SQLite transaction, each copy with its own project (of 4), architecture,
status, start time, E epochs of varied metrics, and the list columns
(best val accuracy, training seconds) computed by the same SQL as
`RecordEpoch`, so the list reads exactly the rows a real workspace holds.
Then `fsml serve` starts and R requests (300 by default) of each shape run
one after another over one keep-alive connection as an admin session:

    first page      GET /api/v1/runs                              (newest first, 50)
    filtered        GET /api/v1/runs?project=p2&status=finished&model=mlp
    sorted          GET /api/v1/runs?sort=-accuracy&offset=500
    by duration     GET /api/v1/runs?sort=duration&limit=200

It prints p50/p90/p99 per shape, as the client saw them (loopback HTTP).

    bench/runs_list_bench.py [--fsml build/src/fsml] [--runs 10000] [--epochs 10] [--requests 300]

There is no peer column: MLflow's tracking server, what a user would pick
instead, comes from PyPI, which this machine cannot reach.
"""
import argparse
import os
import random
import re
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import requests


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def png(width, height, seed):
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 13 + seed * 31) % 256 for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make_runs(db, n, epochs, seed=1):
    """Copies run 1 (made by `fsml train`) n times with varied columns."""
    rng = random.Random(seed)
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(runs)") if r[1] != "id"]
    ecols = [r[1] for r in con.execute("PRAGMA table_info(run_epochs)")]
    base = dict(zip(cols, con.execute(f"SELECT {', '.join(cols)} FROM runs WHERE id = 1").fetchone()))
    ebase = dict(zip(ecols, con.execute(f"SELECT {', '.join(ecols)} FROM run_epochs WHERE run_id = 1").fetchone()))
    projects = [r[0] for r in con.execute("SELECT id FROM projects ORDER BY id")]
    with con:
        for i in range(n):
            row = dict(base)
            row["project_id"] = projects[i % len(projects)]
            row["model"] = rng.choice(["mlp", "cnn-small", "resnet"])
            row["status"] = rng.choices(["finished", "failed", "interrupted", "running"], [85, 8, 5, 2])[0]
            t = 1700000000 + i * 60
            row["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))
            row["ended_at"] = None if row["status"] == "running" else time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t + 600))
            row["heartbeat_at"] = row["ended_at"] or row["started_at"]
            row["best_epoch"] = None
            cur = con.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                              [row[c] for c in cols])
            rid = cur.lastrowid
            acc, best, best_epoch = rng.uniform(0.3, 0.6), -1.0, None
            for e in range(1, epochs + 1):
                acc = min(0.99, acc + rng.uniform(-0.01, 0.05))
                er = dict(ebase, run_id=rid, epoch=e, val_accuracy=acc, seconds=rng.uniform(1, 30),
                          train_loss=1.0 / e, val_loss=1.1 / e)
                con.execute(f"INSERT INTO run_epochs ({', '.join(ecols)}) VALUES ({', '.join('?' * len(ecols))})",
                            [er[c] for c in ecols])
                if acc > best:
                    best, best_epoch = acc, e
            con.execute("UPDATE runs SET best_epoch = ?, checkpoint_epoch = ? WHERE id = ?", (best_epoch, epochs, rid))
            # The list columns, by the statement RecordEpoch runs (src/registry/runs.cc).
            con.execute("UPDATE runs SET train_seconds = (SELECT COALESCE(SUM(e.seconds), 0) FROM run_epochs e WHERE "
                        "e.run_id = runs.id), best_val_accuracy = (SELECT e.val_accuracy FROM run_epochs e WHERE "
                        "e.run_id = runs.id AND e.epoch = runs.best_epoch) WHERE id = ?", (rid,))
    con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fsml", default="build/src/fsml")
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    fsml = os.path.abspath(args.fsml)
    tmp = tempfile.mkdtemp(prefix="fsml-runs-bench-")
    ws = os.path.join(tmp, "ws")
    run = lambda *a: subprocess.run([fsml, "-q", *a], cwd=ws, check=True, capture_output=True, text=True).stdout
    subprocess.run([fsml, "-q", "init", ws], check=True)
    images = os.path.join(tmp, "images")
    for n in range(48):
        os.makedirs(os.path.join(images, "ab"[n % 2]), exist_ok=True)
        open(os.path.join(images, "ab"[n % 2], f"img{n:03d}.png"), "wb").write(png(8, 8, n))
    for p in ("p0", "p1", "p2", "p3"):
        run("project", "create", p, "--type", "image-classification", "--labels", "a,b")
        run("import", p, images)
        run("data", "commit", p, "-m", "tiny")
    run("train", "p0@v1", "--model", "mlp", "--epochs", "1", "--batch-size", "8")
    t = time.time()
    make_runs(os.path.join(ws, ".fsml", "meta.db"), args.runs, args.epochs)
    print(f"made {args.runs:,} runs of {args.epochs} epochs in {time.time() - t:.1f} s", file=sys.stderr)

    env = dict(os.environ, FSML_ADMIN_PASSWORD="bench-admin-1")
    srv = subprocess.Popen([fsml, "serve", "--listen", "127.0.0.1:0", "--access-log", "off", "--workers", "0"], cwd=ws,
                           env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "serve.err"), "w"), text=True)
    try:
        url = re.match(r"listening on (\S+)", srv.stdout.readline()).group(1)
        s = requests.Session()
        r = s.post(url + "/api/v1/auth/login", json={"name": "admin", "password": "bench-admin-1"})
        r.raise_for_status()
        shapes = [
            ("first page", "/api/v1/runs"),
            ("filtered", "/api/v1/runs?project=p2&status=finished&model=mlp"),
            ("sorted", "/api/v1/runs?sort=-accuracy&offset=500"),
            ("by duration", "/api/v1/runs?sort=duration&limit=200"),
        ]
        print(f"fsml runs list: {args.runs:,} runs x {args.epochs} epochs, {args.requests} requests per shape")
        print(f"  command: {' '.join(sys.argv)}")
        print(f"{'shape':<14}{'total':>8}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}")
        for name, path in shapes:
            times, total = [], 0
            for _ in range(args.requests):
                t0 = time.perf_counter()
                r = s.get(url + path)
                times.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                total = r.json()["total"]
            print(f"{name:<14}{total:>8,}{pct(times, 50):>10.2f}{pct(times, 90):>10.2f}{pct(times, 99):>10.2f}")
    finally:
        srv.terminate()
        srv.wait(timeout=30)


if __name__ == "__main__":
    main()
