#!/usr/bin/python3
"""The client of bench/jobs_bench.sh: submits N single-image prediction jobs
and waits until all their results are stored, timing submission start -> all
results stored. One JSON line on stdout.

  fsml:   POST /api/v1/jobs {"model": REF, "inputs": [{"image_base64": ...}], "top_k": 5}
          from --threads threads, each with its own keep-alive http.client
          connection; completion: a poller reads "total" of
          GET /api/v1/jobs?state=succeeded&limit=1 every --poll seconds (and
          of failed / dead every second: any is an error).
  celery: predict.apply_async((image_base64,)) from --threads threads (the
          task of bench/jobs_peer_celery.py); completion with PEER_BACKEND=rpc://:
          each thread joins its own results (ResultSet.join_native: Celery's
          rpc replies go to a queue per client thread, so --threads 1 and all in the
          main thread); with file:///DIR: a
          poller counts the result files in DIR every --poll seconds, then
          every file is read back and checked.

Before the timed run both sides get --warmup jobs (untimed; the workers load
the model then). After it, --check jobs are fetched back and compared with the
exported model run directly here (top-1 label and probabilities within 1e-4).

    jobs_client.py fsml --url http://127.0.0.1:PORT --token T --model fashion@production --pngs LIST --jobs N
    jobs_client.py celery --pngs LIST --jobs N      (PEER_* environment as for jobs_peer_celery.py)
"""
import argparse
import base64
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


class Fail(Exception):
    pass


def load_images(path):
    files = [line.strip() for line in open(path) if line.strip()]
    return files, [base64.b64encode(open(f, "rb").read()).decode() for f in files]


def split(n, threads):
    return [list(range(t, n, threads)) for t in range(threads)]


# ------------------------------------------------------------------ fsml ----

def wait_done(a, n, t0, count_done, counter, errors, timeline, check=None, stall_detail=lambda: ""):
    """Polls count_done() every a.poll seconds until it reaches n; returns the
    time it did. Records (seconds, submitted, done) in timeline; fails on a
    client error, on check() raising, or when nothing finishes for
    a.stall_timeout seconds."""
    last_progress, last_done = t0, -1
    while True:
        time.sleep(a.poll)
        now = time.perf_counter()
        done = count_done()
        timeline.append((round(now - t0, 3), counter[0], done))
        if errors:
            raise Fail(errors[0])
        if check:
            check(now)
        if done >= n:
            return now
        if done != last_done:
            last_done, last_progress = done, now
        elif now - last_progress > a.stall_timeout:
            raise Fail(f"nothing finished for {a.stall_timeout:.0f} s: {done}/{n} done, {counter[0]} submitted"
                       f"{stall_detail()}")


class Fsml:
    def __init__(self, a, images):
        self.a = a
        self.images = images
        u = urllib.parse.urlsplit(a.url)
        self.host, self.port = u.hostname, u.port
        self.headers = {"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"}

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def get(self, conn, path):
        conn.request("GET", path, headers=self.headers)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise Fail(f"GET {path}: HTTP {r.status}: {body[:300]!r}")
        return json.loads(body)

    def total(self, conn, state):
        return self.get(conn, f"/api/v1/jobs?state={state}&limit=1")["total"]

    def submit_range(self, indexes, ids, errors, counter, ends):
        conn = self.conn()
        try:
            for i in indexes:
                body = json.dumps({"model": self.a.model, "inputs": [{"image_base64": self.images[i % len(self.images)]}],
                                   "top_k": 5})
                for attempt in range(2):
                    try:
                        conn.request("POST", "/api/v1/jobs", body=body, headers=self.headers)
                        r = conn.getresponse()
                        data = r.read()
                        break
                    except (http.client.HTTPException, OSError):
                        # A keep-alive connection the server closed: one new connection, then give up.
                        conn.close()
                        conn = self.conn()
                        if attempt == 1:
                            raise
                if r.status not in (200, 201, 202):
                    errors.append(f"POST /api/v1/jobs: HTTP {r.status}: {data[:300]!r}")
                    return
                ids[i] = json.loads(data)["id"]
                counter[0] += 1
        except Exception as e:  # noqa: BLE001 (reported, ends the run)
            errors.append(f"submitting: {type(e).__name__}: {e}")
        finally:
            ends.append(time.perf_counter())
            conn.close()

    def run(self, n, timed):
        a = self.a
        poll = self.conn()
        base = {s: self.total(poll, s) for s in ("succeeded", "failed", "dead")}
        ids, errors, counter, submit_ends = [None] * n, [], [0], []
        timeline = []
        t0 = time.perf_counter()
        threads = [threading.Thread(target=self.submit_range, args=(idx, ids, errors, counter, submit_ends), daemon=True)
                   for idx in split(n, a.threads)]
        for t in threads:
            t.start()
        last_bad_check = [0.0]

        def no_failed_jobs(now):  # once a second: any failed or dead job ends the run
            if now - last_bad_check[0] < 1.0:
                return
            last_bad_check[0] = now
            for s in ("failed", "dead"):
                if self.total(poll, s) > base[s]:
                    j = self.get(poll, f"/api/v1/jobs?state={s}&limit=1")["jobs"]
                    raise Fail(f"{self.total(poll, s) - base[s]} job(s) {s}; e.g. {json.dumps(j[:1])[:600]}")

        def states():
            return "; totals by state " + str({s: self.total(poll, s) for s in ("queued", "running", "succeeded", "failed", "dead")})

        end = wait_done(a, n, t0, lambda: self.total(poll, "succeeded") - base["succeeded"], counter, errors, timeline,
                        check=no_failed_jobs, stall_detail=states)
        for t in threads:
            t.join()
        poll.close()
        return {"seconds": end - t0, "submit_seconds": max(submit_ends) - t0, "timeline": timeline if timed else None,
                "ids": ids}

    def fetch(self, ids):
        conn = self.conn()
        out = []
        for i, job_id in ids:
            j = self.get(conn, f"/api/v1/jobs/{job_id}")
            if j.get("state") != "succeeded":
                raise Fail(f"job {job_id} is {j.get('state')}: {json.dumps(j)[:400]}")
            out.append((i, j["results"][0]["predictions"]))
        conn.close()
        return out


# ---------------------------------------------------------------- celery ----

class CeleryPeer:
    def __init__(self, a, images):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from jobs_peer_celery import app, predict
        self.app, self.predict = app, predict
        self.a = a
        self.images = images
        self.backend_url = os.environ.get("PEER_BACKEND", "rpc://")
        self.file_dir = None
        if self.backend_url.startswith("file://"):
            self.file_dir = urllib.parse.urlsplit(self.backend_url).path

    def result_files(self):
        return sum(1 for f in os.listdir(self.file_dir) if f.startswith("celery-task-meta-"))

    def run(self, n, timed):
        from celery.result import ResultSet
        a = self.a
        ids, errors, counter, ends = [None] * n, [], [0], []
        self.results = {}
        base = self.result_files() if self.file_dir else 0
        submit_ends = []

        def worker(indexes):
            try:
                mine = []
                for i in indexes:
                    r = self.predict.apply_async(args=(self.images[i % len(self.images)],), kwargs={"top_k": 5})
                    ids[i] = r.id
                    mine.append(r)
                    counter[0] += 1
                submit_ends.append(time.perf_counter())
                if not self.file_dir:
                    results = ResultSet(mine).join_native(timeout=a.stall_timeout * 10, propagate=True)
                    ends.append(time.perf_counter())
                    if len(results) != len(mine) or any(not isinstance(x, dict) or "results" not in x for x in results):
                        raise Fail("a result is missing or malformed")
                    for i, x in zip(indexes, results):
                        self.results[i] = x
            except Exception as e:  # noqa: BLE001 (reported, ends the run)
                errors.append(f"{type(e).__name__}: {e}")

        timeline = []
        t0 = time.perf_counter()
        if not self.file_dir:
            # Celery's rpc:// backend keeps a reply queue and consumer per thread, and a join from a
            # second thread (after another thread had used the backend) timed out here: submit and
            # join in this thread, one client thread in all.
            if a.threads != 1:
                raise Fail("with PEER_BACKEND=rpc:// use --threads 1")
            worker(list(range(n)))
            if errors:
                raise Fail(errors[0])
            return {"seconds": max(ends) - t0, "submit_seconds": max(submit_ends) - t0, "timeline": None, "ids": ids}
        threads = [threading.Thread(target=worker, args=(idx,), daemon=True) for idx in split(n, a.threads)]
        for t in threads:
            t.start()
        end = wait_done(a, n, t0, lambda: self.result_files() - base, counter, errors, timeline)
        for t in threads:
            t.join()
        return {"seconds": end - t0, "submit_seconds": max(submit_ends) - t0, "timeline": timeline if timed else None,
                "ids": ids}

    def fetch(self, ids):
        out = []
        for i, task_id in ids:
            if self.file_dir:
                meta = json.load(open(os.path.join(self.file_dir, f"celery-task-meta-{task_id}")))
                if meta.get("status") != "SUCCESS":
                    raise Fail(f"task {task_id}: {json.dumps(meta)[:400]}")
                result = meta["result"]
            else:
                result = self.results[i]  # rpc://: what the join received
            out.append((i, result["results"][0]["predictions"]))
        return out

    def check_all_files(self, ids):
        """file://: every task of the timed run has a SUCCESS result file."""
        bad = 0
        for task_id in ids:
            meta = json.load(open(os.path.join(self.file_dir, f"celery-task-meta-{task_id}")))
            bad += meta.get("status") != "SUCCESS"
        return bad


# ----------------------------------------------------------------- check ----

def check(side, files, ids, model_dir, k):
    """Compares up to k results with the exported model run here."""
    import numpy as np
    import torch
    from PIL import Image
    sys.path.insert(0, model_dir)
    from fsml_model import load, preprocess
    model, spec = load(model_dir)
    step = max(1, len(ids) // k)
    sample = [(i, ids[i]) for i in range(0, len(ids), step)][:k]
    got = side.fetch(sample)
    worst, mismatches = 0.0, 0
    for i, preds in got:
        f = files[i % len(files)]
        x = preprocess(np.asarray(Image.open(f).convert("L"), dtype=np.uint8)[None], spec)
        with torch.inference_mode():
            probs = model(x).softmax(1)[0]
        if len(preds) != 5 or preds[0]["label"] != spec["labels"][int(probs.argmax())]:
            mismatches += 1
        for p in preds:
            worst = max(worst, abs(p["probability"] - float(probs[spec["labels"].index(p["label"])])))
    return {"checked": len(got), "top1_mismatches": mismatches, "max_prob_diff": worst,
            "ok": mismatches == 0 and worst < 1e-4 and len(got) > 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("side", choices=["fsml", "celery"])
    ap.add_argument("--pngs", required=True, help="a file listing PNG paths")
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--poll", type=float, default=0.1)
    ap.add_argument("--stall-timeout", type=float, default=60.0)
    ap.add_argument("--check", type=int, default=50)
    ap.add_argument("--model-dir", required=True, help="the export folder (to check results)")
    ap.add_argument("--url")
    ap.add_argument("--token")
    ap.add_argument("--model", default="fashion@production")
    a = ap.parse_args()
    files, images = load_images(a.pngs)
    side = Fsml(a, images) if a.side == "fsml" else CeleryPeer(a, images)
    try:
        w = side.run(a.warmup, False)
        r = side.run(a.jobs, True)
        extra = {}
        if a.side == "celery" and side.file_dir:
            extra["result_files_not_success"] = side.check_all_files(r["ids"])
            if extra["result_files_not_success"]:
                raise Fail(f"{extra['result_files_not_success']} result files are not SUCCESS")
        c = check(side, files, r["ids"], a.model_dir, a.check)
        if not c["ok"]:
            raise Fail(f"results differ from the model run directly: {c}")
    except Fail as e:
        print(json.dumps({"ok": False, "error": str(e)}))
        sys.exit(1)
    print(json.dumps({"ok": True, "side": a.side, "jobs": a.jobs, "threads": a.threads, "seconds": r["seconds"],
                      "jobs_per_s": a.jobs / r["seconds"], "submit_seconds": r["submit_seconds"],
                      "submit_per_s": a.jobs / r["submit_seconds"], "warmup_seconds": w["seconds"], "check": c,
                      "timeline": r["timeline"], **extra}))


if __name__ == "__main__":
    main()
