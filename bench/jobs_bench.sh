#!/usr/bin/env bash
# Batch prediction through a job queue, side by side on the same RabbitMQ:
# N single-image jobs, timed from the start of submission until all N results
# are stored, by fsml (`fsml serve --queue AMQP --workers 0` + `fsml worker`
# processes; jobs submitted with POST /api/v1/jobs) and by Celery in its
# reliable setting (bench/jobs_peer_celery.py: acks_late,
# reject_on_worker_lost, prefetch multiplier 1, 2 prefork worker processes
# that load the same exported cnn-small through fsml_model.py). The client
# for both is bench/jobs_client.py. In one run, on this machine.
#
#   bench/jobs_bench.sh [--jobs N] [--fsml PATH] [--amqp URL] [--client-threads N]
#                       [--fsml-workers "1 2"] [--celery-backends "file rpc"] [--quick] [--peer-only]
#
#   --jobs N             jobs per configuration (default: $JOBS, else 10000)
#   --quick              a smoke test: --jobs 500
#   --amqp URL           use this broker (default: a private RabbitMQ started
#                        with scripts/services.sh on free ports and stopped
#                        at the end, its data under bench/out/jobs/services)
#   --client-threads N   submitting threads, each with its own connection (default 16)
#   --fsml-workers LIST  fsml configurations: the number of `fsml worker`
#                        processes (default "1 2")
#   --celery-backends L  Celery result backends to run (default "file rpc"):
#                        file = file:///DIR (one result file per task, no new
#                        service); rpc = rpc:// (results as messages back to
#                        the client over RabbitMQ)
#   --fsml-worker-args A extra options for each `fsml worker` (e.g. "--prefetch 1")
#   --peer-only          only the Celery rows (for a binary without `fsml serve`)
#
# Every job must succeed and the 50 sampled results must match the model run
# directly in Python; otherwise the script stops with the error.
# Writes bench/out/jobs_bench.md and .json (jobs_bench-quick.* with --quick);
# logs in bench/out/jobs/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
FSML=build/src/fsml
JOBS=${JOBS:-10000}
AMQP=""
CLIENT_THREADS=16
FSML_WORKERS="1 2"
CELERY_BACKENDS="file rpc"
QUICK=0
PEER_ONLY=0
WARMUP=200
WORKER_ARGS=""
ARGS=("$@")
while (($#)); do
  case $1 in
    --jobs) JOBS=$2; shift 2 ;;
    --fsml) FSML=$2; shift 2 ;;
    --amqp) AMQP=$2; shift 2 ;;
    --client-threads) CLIENT_THREADS=$2; shift 2 ;;
    --fsml-workers) FSML_WORKERS=$2; shift 2 ;;
    --celery-backends) CELERY_BACKENDS=$2; shift 2 ;;
    --quick) QUICK=1; JOBS=500; shift ;;
    --fsml-worker-args) WORKER_ARGS=$2; shift 2 ;;
    --peer-only) PEER_ONLY=1; shift ;;
    -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "jobs_bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $JOBS =~ ^[1-9][0-9]*$ && $CLIENT_THREADS =~ ^[1-9][0-9]*$ ]] ||
  { echo "jobs_bench: --jobs and --client-threads take positive integers" >&2; exit 2; }
for b in $CELERY_BACKENDS; do
  [[ $b == file || $b == rpc ]] || { echo "jobs_bench: --celery-backends: file and/or rpc, not '$b'" >&2; exit 2; }
done
PY=/usr/bin/python3
OUT=bench/out/jobs
RESULT=bench/out/jobs_bench; ((QUICK)) && RESULT+=-quick
source bench/serve_lib.sh
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
[[ -x $FSML ]] || die "no fsml binary at $FSML (scripts/setup.sh builds it, or pass --fsml PATH)"
FSML=$(realpath "$FSML")
"$PY" -c 'import celery, kombu, torch, PIL, numpy' 2> /dev/null ||
  die "$PY lacks celery/kombu/torch/PIL/numpy (apt-get install python3-celery python3-kombu python3-torch python3-pil)"
if ((!PEER_ONLY)) && ! { "$FSML" serve --help && "$FSML" worker --help; } > /dev/null 2>&1; then
  die "$FSML has no 'serve'/'worker' commands (build a newer fsml, or run with --peer-only)"
fi

RMQ_STARTED=0
cleanup() {
  stop_all
  if ((RMQ_STARTED)); then
    FSML_SERVICES_DIR=$SERVICES_DIR FSML_RABBITMQ_PORT=$RMQ_PORT scripts/services.sh stop rabbitmq > /dev/null 2>&1 ||
      say "could not stop the benchmark's RabbitMQ (FSML_SERVICES_DIR=$SERVICES_DIR FSML_RABBITMQ_PORT=$RMQ_PORT scripts/services.sh stop rabbitmq)"
    rm -rf "$SERVICES_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ setup (untimed) ----
say "workspace: Fashion-MNIST subset, cnn-small 1 epoch, registered + aliased production, exported"
make_model_workspace "$OUT"
mkdir -p "$OUT/logs" "$OUT/runs"
say "model $MODEL_REF; $JOBS jobs per configuration, each one of $(wc -l < "$OUT/pngs.txt") PNGs"

if [[ -z $AMQP ]]; then
  # A private broker: ports P and P+20000 (Erlang distribution) both free.
  RMQ_PORT=$("$PY" -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 40000)
    try:
        for q in (p, p + 20000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass')
  SERVICES_DIR=$(realpath -m "$OUT/services")
  rm -rf "$SERVICES_DIR"
  say "RabbitMQ: scripts/services.sh start rabbitmq on port $RMQ_PORT"
  RMQ_STARTED=1
  AMQP=$(FSML_SERVICES_DIR=$SERVICES_DIR FSML_RABBITMQ_PORT=$RMQ_PORT scripts/services.sh start rabbitmq 2> "$OUT/logs/rabbitmq-start.log" | tail -n 1) ||
    { cat "$OUT/logs/rabbitmq-start.log" >&2; die "RabbitMQ did not start"; }
fi
say "broker $(sed -E 's#//[^@]*@#//***@#' <<< "$AMQP")"
RMQ_VERSION=$("$PY" - "$AMQP" <<'PY' 2> /dev/null || echo "?"
import sys, pika
c = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
v = c._impl.server_properties.get("version", "?")
print(v.decode() if isinstance(v, bytes) else v)
c.close()
PY
)

ROWS=$OUT/runs/rows.jsonl
: > "$ROWS"
client() {  # client NAME THREADS ARGS...: runs jobs_client.py, appends the row
  local name=$1 threads=$2 rss_groups=$3; shift 3
  say "[$name] $JOBS jobs, $threads client thread(s)"
  local res
  if ! res=$("$PY" bench/jobs_client.py "$@" --pngs "$OUT/pngs.txt" --jobs "$JOBS" --threads "$threads" \
      --warmup "$WARMUP" --model-dir "$OUT/model" 2> "$OUT/logs/$name.client.log"); then
    echo "$res" >&2
    tail -n 20 "$OUT/logs/$name.client.log" >&2
    die "[$name] failed: $(sed -n 's/.*"error": "\(.*\)"}/\1/p' <<< "$res")"
  fi
  local rss=0 g
  for g in $rss_groups; do rss=$((rss + $(group_rss_mib "$g"))); done
  "$PY" -c 'import json, sys; r = json.loads(sys.argv[2]); r["config"] = sys.argv[1]; r["rss_mib"] = int(sys.argv[3]); print(json.dumps(r))' \
    "$name" "$res" "$rss" >> "$ROWS"
  "$PY" -c 'import json, sys; r = json.loads(sys.argv[1]); print("  %.1f jobs/s (%d jobs in %.2f s; submitted in %.2f s)" % (r["jobs_per_s"], r["jobs"], r["seconds"], r["submit_seconds"]))' "$res" >&2
}

# ------------------------------------------------------------------- Celery ----
for backend in $CELERY_BACKENDS; do
  name=celery-$backend
  ready=$OUT/runs/$name.ready
  rm -rf "$ready" "$OUT/results"
  mkdir -p "$ready"
  if [[ $backend == file ]]; then
    mkdir -p "$OUT/results"
    backend_url=file://$(realpath "$OUT/results")
    threads=$CLIENT_THREADS
  else
    backend_url=rpc://
    threads=1  # Celery's rpc:// replies go to a queue per client thread; joins from several threads timed out here
  fi
  say "[$name] celery worker --concurrency 2 (prefork), result backend $backend_url"
  # Tasks left in the peer's queue by an earlier, interrupted run would be counted (--amqp URL).
  "$PY" - "$AMQP" <<'PY'
import sys, pika
c = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
try:
    c.channel().queue_purge("peer.jobs")
except pika.exceptions.ChannelClosedByBroker:
    pass  # not declared yet
c.close()
PY
  PEER_MODEL_DIR=$(realpath "$OUT/model")
  PEER_READY_DIR=$(realpath "$ready")
  export PEER_BROKER=$AMQP PEER_BACKEND=$backend_url PEER_MODEL_DIR PEER_MODEL_REF=$MODEL_REF PEER_READY_DIR \
    OPENBLAS_NUM_THREADS=1
  start_bg "$OUT/logs/$name.worker.log" env PYTHONPATH=bench "$PY" -m celery -A jobs_peer_celery worker \
    --concurrency 2 --pool prefork --loglevel WARNING --without-gossip --without-mingle --without-heartbeat
  pg=$BG_PID
  deadline=$((SECONDS + 120))
  until (($(find "$ready" -name 'ready-*' | wc -l) >= 2)); do
    if ! group_alive "$pg" || ((SECONDS >= deadline)); then
      tail -n 30 "$OUT/logs/$name.worker.log" >&2
      die "[$name] Celery worker processes not ready"
    fi
    sleep 0.2
  done
  PYTHONPATH=bench client "$name" "$threads" "$pg" celery
  stop_group "$pg"
  unset PEER_BROKER PEER_BACKEND PEER_MODEL_DIR PEER_MODEL_REF PEER_READY_DIR
  rm -rf "$OUT/results"
done

# --------------------------------------------------------------------- fsml ----
if ((!PEER_ONLY)); then
  TOKEN=$("$FSML" -q -w "$WS" token create "bench" | tail -n 1)
  [[ -n $TOKEN ]] || die "fsml token create printed no token"
  for w in $FSML_WORKERS; do
    name=fsml-${w}w
    port=$(free_port)
    say "[$name] fsml serve --queue AMQP --workers 0 + $w fsml worker process(es)${WORKER_ARGS:+ ($WORKER_ARGS)}"
    start_bg "$OUT/logs/$name.serve.log" "$FSML" -w "$WS" serve --listen "127.0.0.1:$port" --queue "$AMQP" --workers 0 --access-log off
    groups=$BG_PID
    wait_http "http://127.0.0.1:$port/readyz" "$BG_PID" 60 ||
      { tail -n 30 "$OUT/logs/$name.serve.log" >&2; die "[$name] fsml serve not ready within 60 s"; }
    for ((i = 1; i <= w; i++)); do
      # shellcheck disable=SC2086 # WORKER_ARGS: options split on spaces
      start_bg "$OUT/logs/$name.worker$i.log" "$FSML" -w "$WS" worker --queue "$AMQP" $WORKER_ARGS
      groups="$groups $BG_PID"
    done
    client "$name" "$CLIENT_THREADS" "$groups" fsml --url "http://127.0.0.1:$port" --token "$TOKEN"
    for g in $groups; do stop_group "$g"; done
  done
fi

# ------------------------------------------------------------------- report ----
load="$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
cmd="bench/jobs_bench.sh${ARGS[*]:+ ${ARGS[*]}}"
"$PY" - "$ROWS" "$RESULT" "$JOBS" "$QUICK" "$MODEL_REF" "$cmd" "$load" "$cpu" "$("$FSML" --version)" "$PEER_ONLY" \
  "$CLIENT_THREADS" "$WARMUP" "$RMQ_VERSION" "$FSML_WORKERS" "$WORKER_ARGS" <<'PY'
import json, os, sys
(rows_path, result, jobs, quick, ref, cmd, load, cpu, fsml_version, peer_only, client_threads, warmup, rmq,
 fsml_workers, worker_args) = sys.argv[1:]
jobs, quick, peer_only = int(jobs), quick == "1", peer_only == "1"
rows = [json.loads(l) for l in open(rows_path)]
names = {
    "celery-file": "Celery 5.2, 2 prefork processes, result backend file:// (a file per task)",
    "celery-rpc": "Celery 5.2, 2 prefork processes, result backend rpc:// (reply messages)",
}
for w in fsml_workers.split():
    names[f"fsml-{w}w"] = (f"fsml serve --workers 0 + {w} `fsml worker{' ' + worker_args if worker_args else ''}` "
                           f"process{'es' if w != '1' else ''}")
celery = [r for r in rows if r["config"].startswith("celery")]
best = max(celery, key=lambda r: r["jobs_per_s"]) if celery else None
lines = [f"## Batch prediction jobs: fsml vs Celery on the same RabbitMQ" + (" (--quick smoke test)" if quick else ""), ""]
if quick:
    lines += [f"**--quick**: a smoke test of the script ({jobs} jobs); not the benchmark's numbers.", ""]
lines += [f"{jobs:,} jobs of one Fashion-MNIST test PNG each (base64 in the job), top-5 of cnn-small ({ref}); timed from "
          f"the first submission until the client sees all {jobs:,} results stored; {warmup} untimed warm-up jobs before. "
          f"RabbitMQ {rmq}; client, broker and workers share the {os.cpu_count()} cores.", ""]
lines += ["| config | jobs/s | seconds | submitted/s | client threads | ratio to Celery best | RSS MiB (workers + server) |",
          "|---|---|---|---|---|---|---|"]
for r in rows:
    ratio = f"{r['jobs_per_s'] / best['jobs_per_s']:.2f}" if best else "-"
    lines += [f"| {names.get(r['config'], r['config'])} | {r['jobs_per_s']:,.0f} | {r['seconds']:.2f} | "
              f"{r['submit_per_s']:,.0f} | {r['threads']} | {ratio} | {r['rss_mib']} |"]
if peer_only:
    for w in fsml_workers.split():
        lines += [f"| {names[f'fsml-{w}w']} | pending | | | | | |"]
lines += [""]
if best:
    lines += [f"- ratio = jobs/s / jobs/s of the faster Celery row ({names[best['config']]}: {best['jobs_per_s']:,.0f} jobs/s)."]
lines += ["- submitted/s: how fast the client got its submissions accepted (fsml: 202 from POST /api/v1/jobs; "
          "Celery: apply_async returned)."]
lines += ["- Results checked: " + "; ".join(
    f"{r['config']} {r['check']['checked']} sampled results, top-1 mismatches {r['check']['top1_mismatches']}, "
    f"max probability difference {r['check']['max_prob_diff']:.1e}" for r in rows) + " (against the exported model run "
    "directly in Python); no job failed."]
lines += ["", f"Machine: {cpu}, {os.cpu_count()} cores; load average {load}; {fsml_version}.", "",
          f"Reproduce: {cmd}"]
md = "\n".join(lines) + "\n"
open(result + ".md", "w").write(md)
json.dump({"quick": quick, "jobs": jobs, "model": ref, "warmup_jobs": int(warmup), "rabbitmq": rmq,
           "client_threads": int(client_threads), "fsml_worker_args": worker_args, "rows": rows, "celery_best": best["config"] if best else None,
           "machine": {"cpu": cpu, "cores": os.cpu_count(), "load_average": load}, "fsml_version": fsml_version,
           "command": cmd}, open(result + ".json", "w"), indent=2)
print(md, end="")
PY
say "wrote $RESULT.md and $RESULT.json"
