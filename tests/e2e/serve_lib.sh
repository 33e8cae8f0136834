# Shared by the serving tests (tests/e2e/serve_test.sh and
# tests/integration/rabbitmq_test.sh), after lib.sh: a workspace with a
# served model, starting and stopping fsml serve, and API calls.
SERVE_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT="/usr/bin/python3 $SERVE_LIB_DIR/serve_client.py"
SPID=""
WORKERS=()
trap 'kill -9 $SPID ${WORKERS[*]} 2>/dev/null; rm -rf "$T"' EXIT

# A workspace with toy/1 (mlp) registered and aliased production, a token
# in $TOKEN and a test PNG in $PNG.
serve_setup() {
  setup 600
  fsml train toy@v1 --model mlp --epochs 2 --batch-size 32 --seed 1 > /dev/null || fail "train"
  fsml models register 1 --name toy > /dev/null || fail "register"
  fsml models alias toy 1 production > /dev/null || fail "alias"
  TOKEN=$("$FSML" token create tests 2>/dev/null | tail -1)
  fsml data export toy@v1 exp --format imagefolder > /dev/null || fail "export"
  PNG=$(find exp/test -name '*.png' | sort | head -1)
}

# start_server [ARGS...]: starts fsml serve on a free port; sets $URL, $SPID.
start_server() {
  "$FSML" serve --listen 127.0.0.1:0 --access-log "$T/access.log" "$@" > "$T/serve.out" 2>> "$T/serve.err" &
  SPID=$!
  for _ in $(seq 100); do
    URL=$(sed -n 's/^listening on //p' "$T/serve.out")
    [[ -n "$URL" ]] && break
    sleep 0.1
  done
  [[ -n "$URL" ]] || { fail "server did not start"; cat "$T/serve.err" >&2; return 1; }
  for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && return 0
    sleep 0.1
  done
  fail "server not ready"; curl -s "$URL/readyz" >&2
}
stop_server() { kill -TERM "$SPID"; wait "$SPID"; local rc=$?; SPID=""; return $rc; }

# api METHOD PATH [curl args...]: prints the status, body in $T/body.
api() {
  local method=$1 path=$2; shift 2
  curl -s -o "$T/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN" "$@" "$URL$path"
}
expect_status() {  # expect_status WANT CODE_SUBSTRING METHOD PATH [curl args...]
  local want=$1 code=$2; shift 2
  local got; got=$(api "$@")
  [[ "$got" == "$want" ]] || { fail "$1 $2: status $got, want $want: $(cat "$T/body")"; return; }
  [[ -z "$code" ]] || grep -qF "\"code\":\"$code\"" "$T/body" || fail "$1 $2: want error code $code, got $(cat "$T/body")"
}


# purge_queues AMQP_URL: empties fsml's queues on a broker that outlives
# each test case.
purge_queues() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
for q in ("fsml.jobs", "fsml.results", "fsml.jobs.dead"):
    ch = conn.channel()
    try: ch.queue_purge(q)
    except pika.exceptions.ChannelClosedByBroker: pass  # not declared yet
conn.close()
PY
}
