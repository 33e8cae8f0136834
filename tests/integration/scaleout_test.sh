#!/usr/bin/env bash
# fsml on the scale-out backends: PostgreSQL for metadata, an S3-compatible
# server for objects, RabbitMQ for jobs, all started by scripts/services.sh
# (FSML_SERVICES_DIR and the FSML_*_PORT variables say which).
#
#   scaleout_test.sh with_backends SCRIPT CASE   run an end-to-end case of
#                        tests/e2e/SCRIPT (or ../integration/crawl_test.sh)
#                        with every workspace on a fresh database and
#                        bucket (FSML_STORE_* in the environment)
#   scaleout_test.sh CASE                        one case below
#
# Each case gets its own database and bucket, dropped afterwards.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SERVICES=$ROOT/scripts/services.sh
for s in postgresql s3; do
  "$SERVICES" status "$s" > /dev/null || { echo "$s is not running: scripts/services.sh start $s" >&2; exit 1; }
done
PG_ADMIN=$("$SERVICES" url postgresql | sed 's|/fsml$|/postgres|')
S3=$("$SERVICES" url s3)
export AWS_ACCESS_KEY_ID=fsml-test AWS_SECRET_ACCESS_KEY=fsml-test-secret AWS_DEFAULT_REGION=us-east-1
NAME=fsml_$(echo "${2:-$1}" | tr -c 'a-z0-9\n' '_')_$$
BUCKET=$(echo "$NAME" | tr '_' '-')
META_URL=$(echo "$PG_ADMIN" | sed "s|/postgres$|/$NAME|")
BLOBS_URL="s3://$BUCKET/ws?endpoint=$S3"

psql_admin() { psql -qAt -v ON_ERROR_STOP=1 "$PG_ADMIN" "$@"; }
s3_request() {  # s3_request METHOD PATH: a signed request, prints the HTTP status
  curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X "$1" "$S3$2"
}
make_backends() {  # a database and a bucket named $1
  psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" 2> /dev/null ||
    { echo "cannot create database $1" >&2; exit 1; }
  local code; code=$(s3_request PUT "/$(echo "$1" | tr '_' '-')")
  [[ $code == 200 ]] || { echo "cannot create bucket for $1 (HTTP $code)" >&2; exit 1; }
}
drop_backends() { psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" 2> /dev/null || true; }

if [[ ${1:-} == with_backends ]]; then
  make_backends "$NAME"
  trap 'drop_backends "$NAME"' EXIT
  export FSML_STORE_META=$META_URL FSML_STORE_BLOBS=$BLOBS_URL
  bash "$ROOT/tests/e2e/$2" "$3"
  exit
fi

source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/serve_lib.sh"
make_backends "$NAME"
trap 'kill -9 $SPID ${WORKERS[*]} 2>/dev/null; drop_backends "$NAME"; drop_backends "${NAME}_back"; rm -rf "$T"' EXIT

# A table's digests and the workspace's listings, to compare two workspaces.
listings() {
  fsml data log toy
  fsml runs list
  fsml models list
  fsml eval list 2> /dev/null
}

# embedded -> PostgreSQL + S3 -> embedded: every row and object arrives, the
# copies' digests agree both ways, and the listings read the same on each.
case_store_copy_roundtrip() {
  setup 600
  fsml train toy@v1 --model mlp --epochs 1 --batch-size 32 --seed 1 > /dev/null || fail "train"
  fsml models register 1 --name toy > /dev/null || fail "register"
  fsml models alias toy 1 production > /dev/null || fail "alias"
  fsml eval toy@production toy@v1 > /dev/null || fail "eval"
  listings > before.txt
  cat > scaleout.toml <<EOF
[store]
meta = "$META_URL"
blobs = "$BLOBS_URL"
EOF
  "$FSML" -q store copy --to scaleout.toml --json > there.json 2> copy.err || { fail "copy to PostgreSQL + S3"; cat copy.err >&2; }
  expect_eq "$(py 'd["objects"] == d["objects_copied"] > 600, d["rows"] > 1000' < there.json)" "True True" "copied: $(head -c 300 there.json)"
  # A second copy into the same (now full) database is refused, changing nothing.
  expect_fail "already holds data" fsml store copy --to scaleout.toml
  fsml store copy --to scaleout.toml --switch > /dev/null 2>&1  # refused as well: no switch
  grep -q 'sqlite://' fsml.toml || fail "a refused copy switched fsml.toml"
  # Switch (the objects are all there already: none is copied again).
  drop_backends "$NAME"; psql_admin -c "CREATE DATABASE $NAME"
  "$FSML" -q store copy --to scaleout.toml --switch --json > switched.json 2> copy.err || { fail "copy --switch"; cat copy.err >&2; }
  expect_eq "$(py 'd["objects_copied"], d["switched"]' < switched.json)" "0 True" "second copy"
  grep -q "postgresql://" fsml.toml || fail "fsml.toml does not name PostgreSQL: $(grep meta fsml.toml)"
  rm -rf .fsml/meta.db* .fsml/objects  # nothing may come from the local stores now
  listings > scaleout.txt
  diff before.txt scaleout.txt > /dev/null || { fail "listings differ on PostgreSQL + S3"; diff before.txt scaleout.txt >&2; }
  expect_ok fsml doctor
  fsml data export toy@v1 exp --format imagefolder > /dev/null || fail "export from PostgreSQL + S3"
  expect_ok fsml predict toy@production "$(find exp/test -name '*.png' | sort | head -1)"
  # Back to the embedded defaults, in a new folder.
  mkdir back && cat > back/target.toml <<'EOF'
[store]
meta = "sqlite://.fsml/meta.db"
blobs = "file://.fsml/objects"
EOF
  "$FSML" -q store copy --to back/target.toml --json > back.json 2> copy.err || { fail "copy back"; cat copy.err >&2; }
  expect_eq "$(py '[(t["table"], t["rows"], t["digest"]) for t in d["tables"]]' < back.json)" \
            "$(py '[(t["table"], t["rows"], t["digest"]) for t in d["tables"]]' < there.json)" "table digests there and back"
  (cd back && cp target.toml fsml.toml && unset FSML_STORE_META FSML_STORE_BLOBS &&
     "$FSML" -q doctor > /dev/null && { "$FSML" -q data log toy; "$FSML" -q runs list; "$FSML" -q models list; "$FSML" -q eval list; } > ../back.txt) ||
    fail "the copied-back workspace"
  diff before.txt back.txt > /dev/null || { fail "listings differ after the round trip"; diff before.txt back.txt >&2; }
}

# Bad credentials and a missing bucket: clear errors naming the endpoint and
# bucket, no secret printed, nothing created.
case_bad_s3_settings() {
  AWS_SECRET_ACCESS_KEY=not-the-secret-123 expect_fail "no-such-bucket" \
    fsml init ws --meta "$META_URL" --blobs "s3://no-such-bucket/x?endpoint=$S3"
  grep -q "not-the-secret-123" "$T/err" && fail "the secret was printed"
  [[ -e ws/fsml.toml ]] && fail "a failed init left fsml.toml"
  expect_fail "127.0.0.1:1" fsml init ws2 --meta "$META_URL" --blobs "s3://$BUCKET/x?endpoint=http://127.0.0.1:1"
  expect_fail "unknown" fsml init ws3 --meta "$META_URL" --blobs "s3://$BUCKET/x?endpoint=$S3&colour=blue"
  expect_fail "127.0.0.1:1" fsml init ws4 --meta "postgresql://fsml:pw-123@127.0.0.1:1/nope?connect_timeout=2"
  grep -q "pw-123" "$T/err" && fail "the database password was printed"
  return 0
}

# A server host and two worker hosts, each in its own folder with its own
# fsml.toml (no shared files), talking only through PostgreSQL, S3 and
# RabbitMQ: the server accepts jobs, two workers serve them, one is killed
# mid-job, and the other finishes every job exactly once.
#
# Where network namespaces can be made (root, `ip netns`), every host is a
# namespace of its own on a private bridge, with its own loopback, and the
# three servers run in a fourth one: nothing is reachable but over that
# network. Elsewhere the hosts are processes on this machine's loopback.
NETNS=()
BRIDGE=""
netns_available() {
  ((EUID == 0)) && command -v ip > /dev/null || return 1
  local probe=fsml-probe-$$
  ip netns add "$probe" 2> /dev/null || return 1
  ip netns del "$probe"
}
netns_cleanup() {
  [[ -n "${SVC_ENV:-}" ]] && ip netns exec "${NETNS[0]}" env $SVC_ENV "$SERVICES" stop > /dev/null 2>&1
  local ns
  for ns in "${NETNS[@]}"; do
    ip netns pids "$ns" 2> /dev/null | xargs -r kill -9 2> /dev/null
    ip netns del "$ns" 2> /dev/null
  done
  [[ -n "$BRIDGE" ]] && ip link del "$BRIDGE" 2> /dev/null
  return 0
}
# make_host NAME ADDRESS: a namespace with loopback and eth0 at ADDRESS on the bridge.
make_host() {
  local ns=fsml-$$-$1 veth=fv$$$1
  ip netns add "$ns" && NETNS+=("$ns") &&
    ip link add "$veth" type veth peer name eth0 netns "$ns" &&
    ip link set "$veth" master "$BRIDGE" up &&
    ip -n "$ns" addr add "$2/24" dev eth0 && ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up
}

case_multi_host() {
  local run_a=() run_b=() run_c=() amqp meta=$META_URL blobs=$BLOBS_URL listen=127.0.0.1:0
  if netns_available; then
    local net=10.231.$(($$ % 200 + 20))
    BRIDGE=fsbr$$
    trap 'netns_cleanup; kill -9 $SPID ${WORKERS[*]} 2>/dev/null; drop_backends "$NAME"; rm -rf "$T"' EXIT
    ip link add "$BRIDGE" type bridge && ip addr add "$net.1/24" dev "$BRIDGE" && ip link set "$BRIDGE" up ||
      { fail "bridge"; return; }
    make_host svc "$net.2" && make_host a "$net.11" && make_host b "$net.12" && make_host c "$net.13" ||
      { fail "network namespaces"; return; }
    echo "hosts: servers $net.2, server host a $net.11, workers b $net.12 and c $net.13 (network namespaces)"
    SVC_ENV="FSML_SERVICES_DIR=$T/services FSML_SERVICES_LISTEN=$net.2 FSML_POSTGRES_PORT=5432 FSML_S3_PORT=4566 FSML_RABBITMQ_PORT=5672"
    ip netns exec "${NETNS[0]}" env $SVC_ENV "$SERVICES" start postgresql s3 rabbitmq > /dev/null 2> services.err ||
      { fail "servers in their namespace"; cat services.err >&2; return; }
    meta=postgresql://postgres@$net.2:5432/fsml
    blobs="s3://fsml-hosts/ws?endpoint=http://$net.2:4566"
    amqp="amqp://guest:guest@$net.2:5672/%2F"
    S3=http://$net.2:4566
    [[ $(s3_request PUT /fsml-hosts) == 200 ]] || { fail "bucket"; return; }
    run_a=(ip netns exec "fsml-$$-a"); run_b=(ip netns exec "fsml-$$-b"); run_c=(ip netns exec "fsml-$$-c")
    listen=$net.11:8080
  else
    echo "hosts: processes on loopback (network namespaces are not available here)"
    "$SERVICES" status rabbitmq > /dev/null || { fail "RabbitMQ is not running"; return; }
    amqp=$("$SERVICES" url rabbitmq)
    purge_queues "$amqp"
  fi
  # This machine makes the model (as any data host would); host a serves;
  # hosts b and c name the same stores in their own fsml.toml.
  mkdir host-a host-b host-c
  for h in b c; do
    "$FSML" -q init "host-$h" --meta "$meta" --blobs "$blobs" --queue "$amqp" > /dev/null || fail "init host-$h"
  done
  export FSML_STORE_META=$meta FSML_STORE_BLOBS=$blobs FSML_QUEUE_URL=$amqp
  cd host-a && serve_setup && cd "$T" || return
  PNG=$T/host-a/$PNG
  (cd host-a && exec "${run_a[@]}" "$FSML" serve --listen "$listen" --workers 0 > "$T/serve.out" 2> "$T/serve.err") &
  SPID=$!
  unset FSML_STORE_META FSML_STORE_BLOBS FSML_QUEUE_URL
  URL=""
  for _ in $(seq 100); do
    URL=$(sed -n 's/^listening on //p' "$T/serve.out")
    [[ -n "$URL" && $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && break
    sleep 0.2
  done
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] || { fail "server on host a not ready"; cat "$T/serve.err" >&2; return; }
  (cd host-b && exec "${run_b[@]}" "$FSML" worker --hold-ms-for-test 5000 >> "$T/worker-b.out" 2>> "$T/worker-b.err") &
  local victim=$!
  WORKERS+=("$victim")
  sleep 2
  $CLIENT submit "$URL" "$TOKEN" toy@production "$PNG" 20 > ids.txt || { fail "submit"; return; }
  sleep 2  # host b holds the jobs, results not yet published
  kill -9 "$victim"
  (cd host-c && exec "${run_c[@]}" "$FSML" worker >> "$T/worker-c.out" 2>> "$T/worker-c.err") &
  WORKERS+=("$!")
  $CLIENT wait "$URL" "$TOKEN" succeeded 20 90 > /dev/null ||
    { fail "the jobs of the killed worker were not finished by the other"; tail -5 "$T/worker-c.err" >&2; }
  local id bad=0
  while read -r id; do
    api GET "/api/v1/jobs/$id" > /dev/null
    [[ $(py 'd["state"], len(d["results"]), d["worker"].endswith("/'"${WORKERS[1]}"'")' < "$T/body") == "succeeded 1 True" ]] ||
      { bad=$((bad + 1)); echo "  $(cat "$T/body")" >&2; }
  done < ids.txt
  expect_eq "$bad" "0" "jobs not succeeded exactly once"
  [[ -z "$(ls -A host-c/.fsml | grep -v gitignore)" ]] || fail "host c wrote local data: $(ls -A host-c/.fsml)"
  [[ -z "$(ls -A host-a/.fsml 2> /dev/null | grep -v gitignore)" ]] || fail "host a wrote local data: $(ls -A host-a/.fsml)"
  kill -TERM "$SPID"; wait "$SPID" || fail "server did not stop cleanly"; SPID=""
}

run_case "$@"
