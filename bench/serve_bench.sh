#!/usr/bin/env bash
# Online prediction throughput, side by side: `fsml serve` answering
# POST /api/v1/models/fashion@production/predict, and the server a Python
# user writes instead (bench/serve_peer_fastapi.py: FastAPI + uvicorn with 1
# and 2 worker processes, each loading the same exported weights through the
# export's fsml_model.py), under the same load: wrk with 64 keep-alive
# connections and 2 threads POSTing single Fashion-MNIST test PNGs (raw body,
# rotating through 256 files). In one run, on this machine.
#
#   bench/serve_bench.sh [--fsml PATH] [--duration S] [--warmup S] [--connections N] [--quick] [--peer-only]
#
#   --duration S     measured seconds per configuration (default 15)
#   --warmup S       unmeasured wrk seconds before each measurement (default 5)
#   --connections N  wrk connections (default 64; wrk threads: 2)
#   --quick          a smoke test: --duration 4 --warmup 1
#   --peer-only      only the Python rows (for a binary without `fsml serve`)
#   --no-info-rows   skip the two extra rows of uvicorn's own --workers 2
#
# Configurations: the ceiling (the bare model in Python torch, batch 64, all
# cores, no HTTP); FastAPI with 1 uvicorn worker; FastAPI with 2 uvicorn
# worker processes, each on its own SO_REUSEPORT socket (so the kernel spreads
# the connections); two info rows with uvicorn's own `--workers 2` (one shared
# socket: the connections often all land on one process), with and without
# the TCP_NODELAY fix (see bench/serve_peer_fastapi.py); fsml serve with
# dynamic batching (its defaults) and with --max-batch 1 (batching off).
# After each fsml run the batch-size histogram from /metrics
# (fsml_predict_batch_size, the measured run only) is printed.
#
# Every response must be 2xx and no socket errors may occur: otherwise the row
# is marked FAILED, and the script exits 1 after printing the table.
# Writes bench/out/serve_bench.md and .json (serve_bench-quick.* with
# --quick); logs in bench/out/serve/logs/. The scratch workspace
# (bench/out/serve/) is made afresh each run (~10 s).
set -euo pipefail
cd "$(dirname "$0")/.."
FSML=build/src/fsml
DURATION=15
WARMUP=5
CONNS=64
WRK_THREADS=2
QUICK=0
PEER_ONLY=0
INFO_ROWS=1
ARGS=("$@")
while (($#)); do
  case $1 in
    --fsml) FSML=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --quick) QUICK=1; DURATION=4; WARMUP=1; shift ;;
    --peer-only) PEER_ONLY=1; shift ;;
    --no-info-rows) INFO_ROWS=0; shift ;;
    -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve_bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$DURATION" "$WARMUP" "$CONNS"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "serve_bench: --duration, --warmup and --connections take integers" >&2; exit 2; }
done
PY=/usr/bin/python3
OUT=bench/out/serve
RESULT=bench/out/serve_bench; ((QUICK)) && RESULT+=-quick
source bench/serve_lib.sh
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
[[ -x $FSML ]] || die "no fsml binary at $FSML (scripts/setup.sh builds it, or pass --fsml PATH)"
FSML=$(realpath "$FSML")
command -v wrk > /dev/null || die "wrk is missing (apt-get install wrk)"
"$PY" -c 'import fastapi, uvicorn, torch, PIL, numpy' 2> /dev/null ||
  die "$PY lacks fastapi/uvicorn/torch/PIL/numpy (apt-get install python3-fastapi python3-uvicorn python3-torch python3-pil)"
if ((!PEER_ONLY)) && ! "$FSML" serve --help > /dev/null 2>&1; then
  die "$FSML has no 'serve' command (build a newer fsml, or run with --peer-only)"
fi

trap 'stop_all' EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ setup (untimed) ----
say "workspace: Fashion-MNIST subset, cnn-small 1 epoch, registered + aliased production, exported"
make_model_workspace "$OUT"
mkdir -p "$OUT/logs" "$OUT/runs"
say "model $MODEL_REF; $(wc -l < "$OUT/pngs.txt") PNGs to rotate through"

ROWS=$OUT/runs/rows.jsonl
: > "$ROWS"

# check_answers URL TOKEN: POST 32 PNGs, compare with the exported model run
# directly in Python (same labels, probabilities within 1e-4); prints JSON.
check_answers() {
  "$PY" - "$1" "$2" "$OUT/model" "$OUT/pngs.txt" <<'PY'
import http.client, json, os, sys, urllib.parse
import numpy as np, torch
from PIL import Image
url, token, model_dir, pngs = sys.argv[1:]
sys.path.insert(0, model_dir)
from fsml_model import load, preprocess
model, spec = load(model_dir)
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
headers = {"Content-Type": "image/png"}
if token:
    headers["Authorization"] = "Bearer " + token
worst, mismatched = 0.0, 0
files = [l.strip() for l in open(pngs)][:32]
for f in files:
    body = open(f, "rb").read()
    try:
        conn.request("POST", u.path + "?top_k=5", body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
    except OSError as e:  # a timeout included
        print(json.dumps({"ok": False, "error": f"request {files.index(f) + 1} of {len(files)} (one keep-alive "
                          f"connection, one request at a time): {type(e).__name__}: {e}"})); sys.exit(0)
    if r.status != 200:
        print(json.dumps({"ok": False, "error": f"{f}: HTTP {r.status}: {data[:300]!r}"})); sys.exit(0)
    ans = json.loads(data)
    if not isinstance(ans.get("model"), str) or len(ans.get("predictions", [])) != 5:
        print(json.dumps({"ok": False, "error": f"unexpected answer shape: {data[:300]!r}"})); sys.exit(0)
    x = preprocess(np.asarray(Image.open(f).convert("L"), dtype=np.uint8)[None], spec)
    with torch.inference_mode():
        probs = model(x).softmax(1)[0]
    p, idx = probs.topk(5)
    want = [(spec["labels"][j], q) for q, j in zip(p.tolist(), idx.tolist())]
    got = [(e["label"], e["probability"]) for e in ans["predictions"]]
    if got[0][0] != want[0][0]:
        mismatched += 1
    for (gl, gp) in got:
        worst = max(worst, abs(gp - float(probs[spec["labels"].index(gl)])))
print(json.dumps({"ok": mismatched == 0 and worst < 1e-4, "checked": len(files), "top1_mismatches": mismatched,
                  "max_prob_diff": worst, "model": ans["model"]}))
PY
}

# prom_batch FILE: the fsml_predict_batch_size histogram lines of a /metrics dump.
metrics_dump() { curl -sf "http://127.0.0.1:$1/metrics" > "$2" || : > "$2"; }

# run_config NAME KIND URL TOKEN LOG CMD...: start the server, wait for
# /readyz, check answers, warm up, measure; appends one JSON row.
run_config() {
  local name=$1 kind=$2 url=$3 token=$4 log=$5; shift 5
  local port
  port=$(sed -E 's#^http://[^:]+:([0-9]+)/.*#\1#' <<< "$url")
  say "[$name] starting: $*"
  start_bg "$log" "$@"
  local pg=$BG_PID
  if ! wait_http "http://127.0.0.1:$port/readyz" "$pg" 120; then
    tail -n 30 "$log" >&2
    die "[$name] not ready within 120 s (log above: $log)"
  fi
  local check
  check=$(check_answers "$url" "$token")
  say "[$name] answers vs the model run directly: $check"
  local path=${url#"http://127.0.0.1:$port"}
  local env=(SERVE_BENCH_LIST="$OUT/pngs.txt" SERVE_BENCH_PATH="$path" SERVE_BENCH_TOKEN="$token")
  if ((WARMUP > 0)); then
    env "${env[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s bench/serve_post.lua \
      "http://127.0.0.1:$port" > "$OUT/runs/$name.warmup.txt" 2>&1 || true
  fi
  [[ $kind == fsml ]] && metrics_dump "$port" "$OUT/runs/$name.metrics-before.txt"
  say "[$name] measuring ${DURATION}s: wrk -t$WRK_THREADS -c$CONNS"
  env "${env[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s -s bench/serve_post.lua \
    "http://127.0.0.1:$port" > "$OUT/runs/$name.wrk.txt" 2>&1 &
  local wrk_pid=$!
  # Half-way through: how the connections are spread over the server's processes.
  sleep "$(((DURATION + 1) / 2))"
  local spread
  spread=$(ss -tnpH state established "sport = :$port" 2> /dev/null | grep -o 'pid=[0-9]*' | sort | uniq -c |
    awk '{print $1}' | sort -rn | paste -sd/ -)
  wait "$wrk_pid" || die "[$name] wrk failed: $(tail -5 "$OUT/runs/$name.wrk.txt")"
  local rss
  rss=$(group_rss_mib "$pg")
  [[ $kind == fsml ]] && metrics_dump "$port" "$OUT/runs/$name.metrics-after.txt"
  stop_group "$pg"
  local line
  line=$(grep '^{"requests"' "$OUT/runs/$name.wrk.txt" | tail -1) || die "[$name] no result line from wrk (see $OUT/runs/$name.wrk.txt)"
  "$PY" - "$name" "$kind" "$rss" "$line" "$check" "$OUT/runs" "${spread:-?}" >> "$ROWS" <<'PY'
import json, os, sys
name, kind, rss, line, check, runs, spread = sys.argv[1:]
row = {"config": name, "kind": kind, "server_rss_mib": int(rss), "wrk": json.loads(line), "check": json.loads(check),
       "connections_per_process": spread}
if kind == "fsml":
    def hist(path):
        b, lines = {}, []
        for l in open(path) if os.path.exists(path) else []:
            if "batch" in l and not l.startswith("#"):
                lines.append(l.rstrip("\n"))
            if l.startswith("fsml_predict_batch_size_bucket"):
                le = l.split('le="', 1)[1].split('"', 1)[0]
                b[le] = float(l.rsplit(" ", 1)[1])
            elif l.startswith("fsml_predict_batch_size_count") or l.startswith("fsml_predict_batch_size_sum"):
                b[l.split()[0].split("{")[0].rsplit("_", 1)[1]] = float(l.rsplit(" ", 1)[1])
        return b, lines
    before, _ = hist(f"{runs}/{name}.metrics-before.txt")
    after, raw = hist(f"{runs}/{name}.metrics-after.txt")
    row["batch_histogram"] = {k: v - before.get(k, 0.0) for k, v in after.items()}
    row["metrics_batch_lines"] = raw
print(json.dumps(row))
PY
  "$PY" -c '
import json, sys
w = json.loads(sys.argv[1])["wrk"]
sock = sum(v for k, v in w["errors"].items() if k != "status")
print("  %s req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d, socket errors %d, connections per server process %s"
      % (format(round(w["rps"]), ","), w["p50_us"] / 1000, w["p99_us"] / 1000, w["non2xx"], sock,
         json.loads(sys.argv[1])["connections_per_process"]))' \
    "$(tail -1 "$ROWS")" >&2
}

# ------------------------------------------------------------------ ceiling ----
say "[ceiling] bare model, Python torch, batch 64, $(nproc) threads"
"$PY" bench/serve_ceiling.py --model "$OUT/model" --pngs "$OUT/pngs.txt" --batch 64 --threads "$(nproc)" \
  --seconds "$((QUICK ? 2 : 5))" > "$OUT/runs/ceiling.json"
cat "$OUT/runs/ceiling.json" >&2

# ------------------------------------------------------------------ FastAPI ----
peer() {  # peer NAME WORKERS [--nagle]
  local name=$1 workers=$2; shift 2
  local port; port=$(free_port)
  run_config "$name" fastapi "http://127.0.0.1:$port/predict" "" "$OUT/logs/$name.log" \
    env OPENBLAS_NUM_THREADS=1 "$PY" bench/serve_peer_fastapi.py --model "$OUT/model" --ref "$MODEL_REF" \
    --port "$port" --workers "$workers" --threads 1 "$@"
}
peer fastapi-1w 1
peer fastapi-2w 2 --balance reuseport
if ((INFO_ROWS)); then
  peer fastapi-2w-shared 2 --balance shared
  peer fastapi-2w-asis 2 --balance shared --nagle
fi

# --------------------------------------------------------------------- fsml ----
if ((!PEER_ONLY)); then
  TOKEN=$("$FSML" -q -w "$WS" token create "bench" | tail -n 1)
  [[ -n $TOKEN ]] || die "fsml token create printed no token"
  fsml_server() {  # fsml_server NAME [serve options]
    local name=$1; shift
    local port; port=$(free_port)
    run_config "$name" fsml "http://127.0.0.1:$port/api/v1/models/fashion@production/predict" "$TOKEN" \
      "$OUT/logs/$name.log" "$FSML" -w "$WS" serve --listen "127.0.0.1:$port" --access-log off "$@"
  }
  fsml_server fsml-batching
  fsml_server fsml-max-batch-1 --max-batch 1
fi

# ------------------------------------------------------------------- report ----
load="$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
cmd="bench/serve_bench.sh${ARGS[*]:+ ${ARGS[*]}}"
fsml_version=$("$FSML" --version)
"$PY" - "$ROWS" "$OUT/runs/ceiling.json" "$RESULT" "$DURATION" "$WARMUP" "$CONNS" "$WRK_THREADS" "$QUICK" \
  "$MODEL_REF" "$cmd" "$load" "$cpu" "$fsml_version" "$PEER_ONLY" <<'PY'
import json, os, sys
(rows_path, ceiling_path, result, duration, warmup, conns, wrk_threads, quick, ref, cmd, load, cpu,
 fsml_version, peer_only) = sys.argv[1:]
quick, peer_only = quick == "1", peer_only == "1"
rows = [json.loads(l) for l in open(rows_path)]
ceiling = json.load(open(ceiling_path))
names = {
    "fastapi-1w": "FastAPI + uvicorn, 1 worker",
    "fastapi-2w": "FastAPI + uvicorn, 2 workers (SO_REUSEPORT socket each, TCP_NODELAY fix)",
    "fastapi-2w-shared": "info: uvicorn --workers 2 (shared socket), TCP_NODELAY fix",
    "fastapi-2w-asis": "info: uvicorn --workers 2 as shipped (shared socket, no TCP_NODELAY fix)",
    "fsml-batching": "fsml serve, dynamic batching (default)",
    "fsml-max-batch-1": "fsml serve --max-batch 1 (batching off)",
}
failed = []
for r in rows:
    w = r["wrk"]
    sock = sum(v for k, v in w["errors"].items() if k != "status")
    r["failed"] = w["non2xx"] > 0 or sock > 0 or w["requests"] == 0 or not r["check"].get("ok")
    if r["failed"]:
        failed.append(f"{r['config']}: {w['non2xx']} non-2xx (first: {w['first_non2xx']!r}), {sock} socket errors "
                      f"{w['errors']}, answer check {r['check']}")
best_peer = max((r for r in rows if r["config"] in ("fastapi-1w", "fastapi-2w")), key=lambda r: r["wrk"]["rps"])
base = best_peer["wrk"]["rps"]

def f(x, d=0):
    return f"{x:,.{d}f}"

lines = ["## Online prediction: `fsml serve` vs FastAPI + uvicorn" + (" (--quick smoke test)" if quick else ""), ""]
if quick:
    lines += ["**--quick**: a smoke test of the script (4 s per configuration); not the benchmark's numbers.", ""]
lines += [f"cnn-small ({ref}, 1 epoch on a 6,000-image subset: speed is measured, not accuracy). Load: wrk, "
          f"{conns} keep-alive connections, {wrk_threads} threads, each request one Fashion-MNIST test PNG (raw body, "
          f"rotating through 256 files), {warmup} s warm-up then {duration} s measured per configuration; "
          f"wrk runs on the same {os.cpu_count()} cores as the server.", ""]
lines += ["| config | req/s | p50 ms | p99 ms | ratio to FastAPI best | non-2xx | connections per process | server RSS MiB |",
          "|---|---|---|---|---|---|---|---|"]
lines += [f"| ceiling: bare model, Python torch {ceiling['torch']}, batch {ceiling['batch']}, {ceiling['threads']} threads, "
          f"no HTTP (images/s) | {f(ceiling['images_per_s'])} | - | - | {ceiling['images_per_s'] / base:.2f} | - | - | - |"]
for r in rows:
    w = r["wrk"]
    mark = " **FAILED**" if r["failed"] else ""
    lines += [f"| {names.get(r['config'], r['config'])}{mark} | {f(w['rps'])} | {w['p50_us'] / 1000:.2f} | "
              f"{w['p99_us'] / 1000:.2f} | {w['rps'] / base:.2f} | {w['non2xx']} | {r['connections_per_process']} | "
              f"{r['server_rss_mib']} |"]
if peer_only:
    lines += ["| fsml serve, dynamic batching (default) | pending | | | | | | |",
              "| fsml serve --max-batch 1 (batching off) | pending | | | | | | |"]
lines += ["", f"- ratio = req/s / req/s of the faster FastAPI row ({names[best_peer['config']]}: {f(base)} req/s)."]
lines += ["- p50/p99: wrk's latency histogram (the Lua done() hook), per request, client side, over the measured seconds."]
lines += ["- non-2xx: responses counted by the Lua response() hook; socket errors (connect/read/write/timeout) "
          "would also fail the row. Every row's server first answered 32 PNGs, compared with the exported model run "
          "directly in Python: " + "; ".join(
              (f"{r['config']} top-1 mismatches {r['check'].get('top1_mismatches')}, max probability difference "
               f"{r['check'].get('max_prob_diff', float('nan')):.1e}") if "error" not in r["check"]
              else f"{r['config']} **check failed**: {r['check']['error']}" for r in rows) + "."]
for r in rows:
    if r["kind"] != "fsml":
        continue
    h = r.get("batch_histogram") or {}
    buckets = [(k, v) for k, v in h.items() if k not in ("count", "sum")]
    if buckets:
        def lev(k):
            return float("inf") if k == "+Inf" else float(k)
        buckets.sort(key=lambda kv: lev(kv[0]))
        prev, parts = 0.0, []
        for k, v in buckets:
            parts.append(f"<= {k}: {v - prev:,.0f}")
            prev = v
        mean = h["sum"] / h["count"] if h.get("count") else float("nan")
        lines += [f"- {r['config']} batch sizes (fsml_predict_batch_size over the measured run; batches per bucket): "
                  + ", ".join(parts) + f"; {h.get('count', 0):,.0f} batches, mean {mean:.2f} images per batch."]
    else:
        raw = r.get("metrics_batch_lines") or []
        lines += [f"- {r['config']}: no fsml_predict_batch_size histogram in /metrics; lines matching 'batch': "
                  + ("; ".join(f"`{l}`" for l in raw) if raw else "none") + "."]
lines += ["", f"Machine: {cpu}, {os.cpu_count()} cores; load average {load}; {fsml_version}.", "",
          f"Reproduce: {cmd}"]
if failed:
    lines += ["", "**FAILED rows**:"] + [f"- {x}" for x in failed]
md = "\n".join(lines) + "\n"
open(result + ".md", "w").write(md)
json.dump({"quick": quick, "model": ref, "duration_s": int(duration), "warmup_s": int(warmup), "connections": int(conns),
           "wrk_threads": int(wrk_threads), "ceiling": ceiling, "rows": rows, "fastapi_best": best_peer["config"],
           "failed": failed, "machine": {"cpu": cpu, "cores": os.cpu_count(), "load_average": load},
           "fsml_version": fsml_version, "command": cmd}, open(result + ".json", "w"), indent=2)
print(md, end="")
sys.exit(1 if failed else 0)
PY
say "wrote $RESULT.md and $RESULT.json"
