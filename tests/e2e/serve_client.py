"""Test client for `fsml serve`: load, slow and idle clients, job waits.

  serve_client.py load URL TOKEN REF PNG SECONDS THREADS   -> JSON {"ok", "errors", "statuses", "models"}
  serve_client.py slow URL                                 -> seconds until the server closed a 1-byte/s client
  serve_client.py idle URL N TOKEN REF PNG                 -> holds N idle keep-alive connections while timing 50 predicts
  serve_client.py wait URL TOKEN STATE COUNT TIMEOUT       -> waits until COUNT jobs are in STATE
  serve_client.py submit URL TOKEN REF PNG N [KEY_PREFIX]  -> submits N jobs, prints accepted ids, one per line
"""
import base64, collections, http.client, json, socket, sys, threading, time
from urllib.parse import urlparse


def conn(url):
    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    return c


def predict(c, token, ref, body):
    c.request("POST", f"/api/v1/models/{ref}/predict", body=body,
              headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"})
    r = c.getresponse()
    return r.status, r.read()


def load(url, token, ref, png, seconds, threads):
    body = open(png, "rb").read()
    stop = time.time() + float(seconds)
    statuses, models, errors = collections.Counter(), collections.Counter(), []
    lock = threading.Lock()

    def run():
        c = conn(url)
        while time.time() < stop:
            try:
                status, data = predict(c, token, ref, body)
                with lock:
                    statuses[status] += 1
                    if status == 200:
                        models[json.loads(data)["model"]] += 1
                    elif len(errors) < 5:
                        errors.append(data.decode(errors="replace"))
            except Exception as e:  # a dropped connection is a failure too
                with lock:
                    statuses["exception"] += 1
                    errors.append(repr(e))
                c = conn(url)
    ts = [threading.Thread(target=run) for _ in range(int(threads))]
    for t in ts: t.start()
    for t in ts: t.join()
    print(json.dumps({"ok": statuses.get(200, 0), "statuses": {str(k): v for k, v in statuses.items()},
                      "models": models, "errors": errors}))


def slow(url):
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port))
    t0 = time.time()
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        for b in request[:-1]:
            s.send(bytes([b]))
            time.sleep(1.0)
            if time.time() - t0 > 30: break
        s.settimeout(5)
        data = s.recv(100)
        print(f"{time.time() - t0:.1f}" if not data else f"answered {data!r}")
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        print(f"{time.time() - t0:.1f}")


def idle(url, n, token, ref, png):
    u = urlparse(url)
    idle_socks = []
    for _ in range(int(n)):
        s = socket.create_connection((u.hostname, u.port))
        s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(1000)  # now an idle keep-alive connection
        idle_socks.append(s)
    body = open(png, "rb").read()
    c = conn(url)
    times = []
    for _ in range(50):
        t0 = time.time()
        status, _ = predict(c, token, ref, body)
        assert status == 200, status
        times.append(time.time() - t0)
    times.sort()
    print(json.dumps({"idle": len(idle_socks), "p50_ms": times[25] * 1000, "max_ms": times[-1] * 1000}))


def wait(url, token, state, count, timeout):
    c = conn(url)
    deadline = time.time() + float(timeout)
    total = -1
    while time.time() < deadline:
        c.request("GET", f"/api/v1/jobs?state={state}&limit=0", headers={"Authorization": f"Bearer {token}"})
        total = json.loads(c.getresponse().read())["total"]
        if total >= int(count):
            print(total)
            return
        time.sleep(0.2)
    print(f"timeout: {total} jobs {state}", file=sys.stderr)
    sys.exit(1)


def submit(url, token, ref, png, n, key_prefix=None):
    b64 = base64.b64encode(open(png, "rb").read()).decode()
    c = conn(url)
    for i in range(int(n)):
        job = {"model": ref, "inputs": [{"image_base64": b64}]}
        if key_prefix: job["idempotency_key"] = f"{key_prefix}-{i}"
        while True:
            try:
                c.request("POST", "/api/v1/jobs", body=json.dumps(job),
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                r = c.getresponse()
                data = json.loads(r.read())
                if r.status in (200, 202):
                    print(data["id"], flush=True)
                    break
                print(f"status {r.status}: {data}", file=sys.stderr)
            except Exception as e:
                print(f"retrying after {e!r}", file=sys.stderr)
                c = conn(url)
            time.sleep(0.2)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"load": load, "slow": slow, "idle": idle, "wait": wait, "submit": submit}[cmd](*args)
