#!/usr/bin/env bash
# Starts and stops the servers that integration tests and benchmarks use,
# on loopback, as plain processes (no systemd, no service accounts).
#
#   scripts/services.sh start [NAME...]      start (all known services when no NAME); idempotent
#   scripts/services.sh stop [NAME...]       stop and wait until the ports are closed; data is kept
#   scripts/services.sh restart [NAME...]    stop + start, keeping the data
#   scripts/services.sh status [NAME...]     one line per service; exit 3 if any is not running
#   scripts/services.sh url NAME             the client URL (whether or not it runs)
#   scripts/services.sh log NAME             the path of its log file (nginx: the access log)
#
# Services: rabbitmq, postgresql, s3, nginx. Without a NAME, start and
# restart leave nginx out unless FSML_SHOP_DIR is set.
#
# Environment:
#   FSML_SERVICES_DIR       state of all services (default /tmp/fsml-services-$UID)
#   FSML_RABBITMQ_PORT      AMQP port (default 5673; Erlang distribution uses PORT+20000)
#   FSML_POSTGRES_PORT      PostgreSQL port (default 55432)
#   FSML_S3_PORT            S3-compatible server port (default 4566)
#   FSML_NGINX_PORT         nginx's HTTP port (default 8089)
#   FSML_SHOP_DIR           the folder nginx serves (required to start it), e.g. the
#                           crawler's test shop made by tests/fixtures/shop/make_shop.py
#   FSML_SERVICES_LISTEN    the IPv4 address servers listen on and URLs name
#                           (default 127.0.0.1; the multi-host test uses an
#                           address of its own network namespace)
#   FSML_SERVICES_TIMEOUT   seconds to wait for a start or a stop (default 60)
#
# RabbitMQ keeps everything under $FSML_SERVICES_DIR/rabbitmq. Its node is
# named fsml-PORT@localhost and its files (database, log, pid file) carry that
# name, so instances on different ports can run side by side. Remove the
# folder after `stop` to start from an empty broker.
#
# PostgreSQL 15 is a throwaway cluster in $FSML_SERVICES_DIR/postgresql
# (trust authentication on loopback only, user postgres, database fsml; as
# root it runs as the postgres account, which initdb requires). The S3 server
# is moto's server mode from the Python on PATH; it keeps objects in memory,
# so a stop empties it.
#
# nginx serves FSML_SHOP_DIR as static files, with the Lua module, from its
# own nginx.conf in $FSML_SERVICES_DIR/nginx (never /etc/nginx), where its
# pid file, error.log and access.log also are; one worker, keepalive, gzip.
# The access log is emptied at each start and has one line per request:
#   $msec $remote_addr "$request" $status $body_bytes_sent "$http_user_agent" $request_time
# (e.g. 1764170000.123 127.0.0.1 "GET /index.html HTTP/1.1" 200 2264 "curl/7.88.1" 0.000).
# If FSML_SHOP_DIR/.nginx/server.conf exists, it is included in the server
# block (the shop's special pages; dot-files themselves are never served);
# its Lua code may keep state in the shared dict ngx.shared.fsml, which each
# start empties. The workers run as the folder's owner.
#
# To add a service, write its <name>_start, <name>_stop, <name>_status
# (exit 0 when running), <name>_url and <name>_log functions and list it in SERVICES.
set -euo pipefail

SERVICES=(rabbitmq postgresql s3 nginx)
BASE=$(realpath -m "${FSML_SERVICES_DIR:-/tmp/fsml-services-$(id -u)}")
LISTEN=${FSML_SERVICES_LISTEN:-127.0.0.1}
[[ "$LISTEN" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || { echo "services: FSML_SERVICES_LISTEN=$LISTEN: need an IPv4 address" >&2; exit 1; }
TIMEOUT=${FSML_SERVICES_TIMEOUT:-60}
PY=/usr/bin/python3  # Debian's Python: the one with python3-pika

die() { echo "services: $*" >&2; exit 1; }
say() { echo "services: $*" >&2; }

# Seconds since $1 (an $EPOCHREALTIME), with one decimal.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# True while something listens on port $1. Uses ss when present: a test
# connection would show up in the server's log as a broken client.
listening() {
  if command -v ss > /dev/null; then
    [[ -n "$(ss -Hltn "sport = :$1" 2> /dev/null)" ]]
  else
    (exec 3<> "/dev/tcp/$LISTEN/$1") 2> /dev/null
  fi
}

# True if process $1 exists and is not a zombie. PID 1 here reaps late, so
# kill -0 succeeds for a process that has already exited.
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Waits up to TIMEOUT seconds until process $1 has exited and nothing
# listens on any of the ports that follow.
wait_gone() {
  local deadline=$((SECONDS + TIMEOUT)) pid=$1 port
  shift
  for port in "$@"; do
    while listening "$port"; do
      ((SECONDS < deadline)) || return 1
      sleep 0.1
    done
  done
  while alive "$pid"; do  # it closes its ports before it has written everything out
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- RabbitMQ

RMQ_BIN=/usr/lib/rabbitmq/bin  # not /usr/sbin: those wrappers switch user and cookie
RMQ_PORT=${FSML_RABBITMQ_PORT:-5673}
if ! [[ "$RMQ_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((RMQ_PORT >= 45536)); then
  die "FSML_RABBITMQ_PORT=$RMQ_PORT: need a port number below 45536 (PORT+20000 is the distribution port)"
fi
RMQ_DIST_PORT=$((RMQ_PORT + 20000))
RMQ_NODE=fsml-$RMQ_PORT@localhost  # @localhost: an unresolvable host name hangs ~54 s
RMQ_DIR=$BASE/rabbitmq
RMQ_PID_FILE=$RMQ_DIR/fsml-$RMQ_PORT.pid
RMQ_LOG=$RMQ_DIR/log/$RMQ_NODE.log
RMQ_BOOT_LOG=$RMQ_DIR/log/fsml-$RMQ_PORT.boot.log  # output of the last rabbitmq-server start

# The path is the virtual host, URL-encoded: "/%2F" is the default vhost "/" in
# every client (a bare trailing "/" means the empty vhost "" to librabbitmq).
rabbitmq_url() { echo "amqp://guest:guest@$LISTEN:$RMQ_PORT/%2F"; }
rabbitmq_log() { echo "$RMQ_LOG"; }

# The environment every rabbitmq-server and rabbitmqctl call runs in. HOME
# holds the Erlang cookie, which rabbitmqctl must share with the node.
rabbitmq_env() {
  [[ -x $RMQ_BIN/rabbitmq-server ]] || die "RabbitMQ is not installed ($RMQ_BIN/rabbitmq-server missing): apt-get install rabbitmq-server"
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/log" "$RMQ_DIR/mnesia"
  [[ -f $RMQ_DIR/enabled_plugins ]] || echo '[].' > "$RMQ_DIR/enabled_plugins"
  # The guest user may log in only over loopback unless told otherwise.
  if [[ $LISTEN != 127.0.0.1 ]]; then echo "loopback_users = none" > "$RMQ_DIR/rabbitmq.conf"; else rm -f "$RMQ_DIR/rabbitmq.conf"; fi
  if [[ ! -f $RMQ_DIR/home/.erlang.cookie ]]; then
    # Written before the first start so that two nodes starting at once do not race to create it.
    (umask 077 && od -An -tx1 -N10 /dev/urandom | tr -d ' \n' > "$RMQ_DIR/home/.erlang.cookie.tmp") &&
      chmod 400 "$RMQ_DIR/home/.erlang.cookie.tmp" &&
      mv -n "$RMQ_DIR/home/.erlang.cookie.tmp" "$RMQ_DIR/home/.erlang.cookie"
    rm -f "$RMQ_DIR/home/.erlang.cookie.tmp"
  fi
  export HOME=$RMQ_DIR/home
  export RABBITMQ_NODENAME=$RMQ_NODE RABBITMQ_NODE_IP_ADDRESS=$LISTEN RABBITMQ_NODE_PORT=$RMQ_PORT \
    RABBITMQ_DIST_PORT=$RMQ_DIST_PORT RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia RABBITMQ_LOG_BASE=$RMQ_DIR/log \
    RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq \
    RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf \
    RABBITMQ_PID_FILE=$RMQ_PID_FILE ERL_EPMD_ADDRESS=127.0.0.1 ERL_CRASH_DUMP=$RMQ_DIR/log/erl_crash.dump \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# The node's OS pid, if its process is alive and really is this node (a
# reused pid would not have its environment; the node name is not on the
# command line).
rabbitmq_pid() {
  local pid
  pid=$(cat "$RMQ_PID_FILE" 2> /dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" &&
    tr '\0' '\n' < "/proc/$pid/environ" 2> /dev/null | grep -qxF "RABBITMQ_NODENAME=$RMQ_NODE" && echo "$pid"
}

# Polls until an AMQP client can open a connection and a channel (an open
# port alone is not enough: after a restart the listener opens before the
# broker serves), for at most $1 seconds, while process $2 lives.
# Exit 0 ready, 1 timed out, 2 process $2 exited.
rabbitmq_wait_ready() {
  "$PY" - "$(rabbitmq_url)" "$1" "$2" <<'PY'
import logging, sys, time
import pika
url, seconds, pid = sys.argv[1], float(sys.argv[2]), sys.argv[3]
logging.disable(logging.CRITICAL)  # pika logs every refused attempt
params = pika.URLParameters(url)
params.connection_attempts, params.socket_timeout, params.blocked_connection_timeout = 1, 2, 2
deadline, error = time.monotonic() + seconds, "no attempt"

def running():  # exists and is not a zombie (PID 1 reaps late)
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

while True:
    try:
        pika.BlockingConnection(params).channel().connection.close()
        sys.exit(0)
    except Exception as e:  # any failure: not ready yet
        error = f"{type(e).__name__}: {e}"
    if not running():
        sys.exit(2)
    if time.monotonic() > deadline:
        print(f"last attempt: {error}", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.2)
PY
}

# True if a node of this name runs, but not from this data folder.
rabbitmq_elsewhere() { epmd -names 2> /dev/null | grep -q "^name fsml-$RMQ_PORT at "; }

# What the node said: the start of this boot's output (the first error is
# the cause) and the end of its log file.
rabbitmq_log_tail() {
  [[ -s $RMQ_BOOT_LOG ]] && { echo "---- $RMQ_BOOT_LOG (first 40 lines)" >&2; head -n 40 "$RMQ_BOOT_LOG" >&2; }
  [[ -s $RMQ_LOG ]] && { echo "---- $RMQ_LOG (last 25 lines)" >&2; tail -n 25 "$RMQ_LOG" >&2; }
  return 0
}

rabbitmq_status() {
  rabbitmq_env
  local pid
  if pid=$(rabbitmq_pid); then
    if rabbitmq_wait_ready 0 "$pid" 2> /dev/null; then
      echo "rabbitmq: running $(rabbitmq_url) (node $RMQ_NODE, pid $pid, data $RMQ_DIR)"
      return 0
    fi
    echo "rabbitmq: starting, not yet serving clients (node $RMQ_NODE, pid $pid)"
  elif rabbitmq_elsewhere; then
    echo "rabbitmq: stopped here; node $RMQ_NODE runs with another FSML_SERVICES_DIR"
  elif listening "$RMQ_PORT"; then
    echo "rabbitmq: stopped; port $RMQ_PORT is used by another program"
  else
    echo "rabbitmq: stopped (port $RMQ_PORT)"
  fi
  return 3
}

rabbitmq_start() {
  rabbitmq_env
  local t0=$EPOCHREALTIME pid watch rc=0
  if pid=$(rabbitmq_pid); then
    watch=$pid
  else
    local port
    for port in "$RMQ_PORT" "$RMQ_DIST_PORT"; do
      listening "$port" || continue
      rabbitmq_elsewhere && die "rabbitmq: node $RMQ_NODE already runs with another FSML_SERVICES_DIR; stop it there or pick another FSML_RABBITMQ_PORT"
      die "rabbitmq: port $port is in use by another program; pick other ports with FSML_RABBITMQ_PORT=N (uses N and N+20000)"
    done
    rm -f "$RMQ_PID_FILE"
    say "rabbitmq: starting node $RMQ_NODE on $LISTEN:$RMQ_PORT (data $RMQ_DIR)"
    # In the foreground, in its own session, in the background: unlike
    # -detached this keeps what the node prints before its log file opens (a
    # bad config, say) in the boot log, and gives a process to watch.
    # 9>&-: the node must not inherit (and so hold forever) the lock of run().
    setsid "$RMQ_BIN/rabbitmq-server" > "$RMQ_BOOT_LOG" 2>&1 < /dev/null 9>&- &
    watch=$!
  fi
  rabbitmq_wait_ready "$TIMEOUT" "$watch" || rc=$?
  case $rc in
    0) ;;
    2) rabbitmq_log_tail; die "rabbitmq: the node exited while starting (log above)" ;;
    *) rabbitmq_log_tail; die "rabbitmq: no AMQP client could connect to $(rabbitmq_url) within ${TIMEOUT}s (log above)" ;;
  esac
  [[ -n "${pid:-}" ]] || say "rabbitmq: ready in $(elapsed "$t0") s"
  rabbitmq_url
}

rabbitmq_stop() {
  rabbitmq_env
  local pid
  if ! pid=$(rabbitmq_pid); then
    say "rabbitmq: not running (node $RMQ_NODE)"
    return 0
  fi
  say "rabbitmq: stopping node $RMQ_NODE (pid $pid)"
  # --no-wait: rabbitmqctl would otherwise wait on the OS process, which
  # lingers as a zombie here; the ports tell when the node is gone.
  if ! "$RMQ_BIN/rabbitmqctl" shutdown --no-wait > /dev/null 2>&1; then
    say "rabbitmq: rabbitmqctl shutdown failed; sending SIGTERM to $pid"
    kill -TERM "$pid" 2> /dev/null || true
  fi
  if ! wait_gone "$pid" "$RMQ_PORT" "$RMQ_DIST_PORT"; then
    say "rabbitmq: still running after ${TIMEOUT}s; sending SIGKILL to $pid"
    kill -KILL "$pid" 2> /dev/null || true
    wait_gone "$pid" "$RMQ_PORT" "$RMQ_DIST_PORT" || die "rabbitmq: pid $pid or port $RMQ_PORT or $RMQ_DIST_PORT still there after SIGKILL"
  fi
  rm -f "$RMQ_PID_FILE"
  # epmd (the Erlang port mapper, 127.0.0.1:4369) is shared by every Erlang
  # node on the machine, including other fsml nodes on other ports: stop it
  # only when no node is registered with it any more, so nothing is left
  # running after the last stop and no other node loses its name.
  if command -v epmd > /dev/null && ! epmd -names 2> /dev/null | grep -q '^name '; then
    epmd -kill > /dev/null 2>&1 || true
  fi
  say "rabbitmq: stopped"
}

# ---------------------------------------------------------------- PostgreSQL

PG_PORT=${FSML_POSTGRES_PORT:-55432}
[[ "$PG_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || die "FSML_POSTGRES_PORT=$PG_PORT: not a port number"
PG_DIR=$BASE/postgresql
PG_DATA=$PG_DIR/data-$PG_PORT
PG_LOG=$PG_DIR/server-$PG_PORT.log

postgresql_url() { echo "postgresql://postgres@$LISTEN:$PG_PORT/fsml"; }
postgresql_log() { echo "$PG_LOG"; }

# The PostgreSQL 15 server programs (pg_ctl, initdb, postgres).
postgresql_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x $d/pg_ctl ]] && { echo "$d"; return 0; }
  done
  die "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): apt-get install postgresql"
}

# Runs a server program as the account that owns the cluster: postgres when
# we are root (initdb and postgres refuse root), ourselves otherwise.
pg_as_owner() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

postgresql_running() { pg_as_owner "$(postgresql_bin)/pg_ctl" -D "$PG_DATA" status > /dev/null 2>&1; }

postgresql_status() {
  if postgresql_running && pg_isready -q -h "$LISTEN" -p "$PG_PORT" 2> /dev/null; then
    echo "postgresql: running $(postgresql_url) (data $PG_DATA)"
    return 0
  fi
  if listening "$PG_PORT"; then echo "postgresql: stopped here; port $PG_PORT is used by another program"
  else echo "postgresql: stopped (port $PG_PORT)"; fi
  return 3
}

postgresql_start() {
  local bin t0=$EPOCHREALTIME
  bin=$(postgresql_bin)
  mkdir -p "$PG_DIR"
  if ((EUID == 0)); then
    # The postgres account must reach its folder: every parent needs o+x.
    local d=$PG_DIR
    while [[ "$d" != / ]]; do
      [[ $(stat -c %A "$d") == *x ]] || chmod o+x "$d"
      d=$(dirname "$d")
    done
    chown postgres: "$PG_DIR"
  fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    rm -rf "$PG_DATA"
    say "postgresql: creating a cluster in $PG_DATA"
    pg_as_owner "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C --no-sync > "$PG_DIR/initdb.log" 2>&1 ||
      { cat "$PG_DIR/initdb.log" >&2; die "postgresql: initdb failed (log above)"; }
  fi
  # initdb trusts loopback only; another listen address trusts its /24.
  if [[ $LISTEN != 127.0.0.1 ]] && ! grep -q "^host all all ${LISTEN%.*}.0/24 trust" "$PG_DATA/pg_hba.conf"; then
    echo "host all all ${LISTEN%.*}.0/24 trust" >> "$PG_DATA/pg_hba.conf"
  fi
  if ! postgresql_running; then
    listening "$PG_PORT" && die "postgresql: port $PG_PORT is in use by another program; pick another FSML_POSTGRES_PORT"
    say "postgresql: starting on $LISTEN:$PG_PORT (data $PG_DATA)"
    # fsync stays on: tests kill and restart it and expect committed data back.
    pg_as_owner "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" \
      -o "-c listen_addresses=$LISTEN -p $PG_PORT -k $PG_DIR -c max_connections=200" start > /dev/null 9>&- ||
      { tail -n 25 "$PG_LOG" >&2; die "postgresql: the server did not start (log above)"; }
    say "postgresql: ready in $(elapsed "$t0") s"
  fi
  if [[ -z "$(psql -h "$LISTEN" -p "$PG_PORT" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'fsml'" postgres)" ]]; then
    psql -q -h "$LISTEN" -p "$PG_PORT" -U postgres -c "CREATE DATABASE fsml" postgres || die "postgresql: could not create database fsml"
  fi
  postgresql_url
}

postgresql_stop() {
  if ! postgresql_running; then
    say "postgresql: not running (data $PG_DATA)"
    return 0
  fi
  say "postgresql: stopping"
  pg_as_owner "$(postgresql_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop > /dev/null ||
    die "postgresql: pg_ctl stop failed"
  say "postgresql: stopped"
}

# ---------------------------------------------------------------- S3 (moto)

S3_PORT=${FSML_S3_PORT:-4566}
[[ "$S3_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || die "FSML_S3_PORT=$S3_PORT: not a port number"
S3_DIR=$BASE/s3
S3_PID_FILE=$S3_DIR/moto-$S3_PORT.pid
S3_LOG=$S3_DIR/moto-$S3_PORT.log

s3_url() { echo "http://$LISTEN:$S3_PORT"; }
s3_log() { echo "$S3_LOG"; }

s3_pid() {
  local pid
  pid=$(cat "$S3_PID_FILE" 2> /dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && grep -q "moto" "/proc/$pid/cmdline" 2> /dev/null && echo "$pid"
}

s3_answers() { curl -fsS -o /dev/null -m 2 "$(s3_url)/moto-api/" 2> /dev/null; }

s3_status() {
  local pid
  if pid=$(s3_pid) && s3_answers; then
    echo "s3: running $(s3_url) (moto, pid $pid)"
    return 0
  fi
  if listening "$S3_PORT"; then echo "s3: stopped here; port $S3_PORT is used by another program"
  else echo "s3: stopped (port $S3_PORT)"; fi
  return 3
}

s3_start() {
  local pid t0=$EPOCHREALTIME deadline=$((SECONDS + TIMEOUT))
  mkdir -p "$S3_DIR"
  if ! pid=$(s3_pid); then
    listening "$S3_PORT" && die "s3: port $S3_PORT is in use by another program; pick another FSML_S3_PORT"
    python3 -c "import moto.server" 2> /dev/null ||
      die "s3: moto is not importable by $(command -v python3) (its server mode is the S3-compatible test server)"
    say "s3: starting moto on $LISTEN:$S3_PORT"
    setsid python3 -m moto.server -H "$LISTEN" -p "$S3_PORT" > "$S3_LOG" 2>&1 < /dev/null 9>&- &
    pid=$!
    echo "$pid" > "$S3_PID_FILE"
  fi
  until s3_answers; do
    alive "$pid" || { tail -n 25 "$S3_LOG" >&2; die "s3: moto exited while starting (log above)"; }
    ((SECONDS < deadline)) || die "s3: moto did not answer within ${TIMEOUT}s"
    sleep 0.1
  done
  say "s3: ready in $(elapsed "$t0") s"
  s3_url
}

s3_stop() {
  local pid
  if ! pid=$(s3_pid); then
    say "s3: not running"
    return 0
  fi
  kill -TERM "$pid" 2> /dev/null || true
  if ! wait_gone "$pid" "$S3_PORT"; then
    kill -KILL "$pid" 2> /dev/null || true
    wait_gone "$pid" "$S3_PORT" || die "s3: pid $pid still there after SIGKILL"
  fi
  rm -f "$S3_PID_FILE"
  say "s3: stopped"
}

# ---------------------------------------------------------------- nginx (the crawler's test shop)

NGINX_BIN=/usr/sbin/nginx
NGINX_MODULES=/usr/lib/nginx/modules
NGINX_PORT=${FSML_NGINX_PORT:-8089}
[[ "$NGINX_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || die "FSML_NGINX_PORT=$NGINX_PORT: not a port number"
NGINX_DIR=$BASE/nginx
NGINX_CONF=$NGINX_DIR/nginx.conf
NGINX_PID_FILE=$NGINX_DIR/nginx.pid
NGINX_ACCESS_LOG=$NGINX_DIR/access.log
NGINX_ERROR_LOG=$NGINX_DIR/error.log
NGINX_BOOT_LOG=$NGINX_DIR/start.log  # what the last start printed

nginx_url() { echo "http://$LISTEN:$NGINX_PORT"; }
nginx_log() { echo "$NGINX_ACCESS_LOG"; }

# The master's pid, if it is alive and runs our configuration.
nginx_pid() {
  local pid
  pid=$(cat "$NGINX_PID_FILE" 2> /dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -qF -- "$NGINX_CONF" && echo "$pid"
}

# The configuration for serving folder $1 on $LISTEN:$NGINX_PORT, on stdout.
# The workers run as the folder's owner, who can read it. A site's own
# locations come from $1/.nginx/server.conf, whose hash is part of the
# text so that an idempotent start notices when it changed.
nginx_conf() {
  local root=$1 site=$1/.nginx/server.conf include=""
  if [[ -f $site ]]; then
    include="include \"$site\";  # sha256 $(sha256sum < "$site" | cut -d' ' -f1)"
  fi
  cat << CONF
# Generated by scripts/services.sh at each start; do not edit.
load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;
$( ((EUID == 0)) && echo "user $(stat -c %U "$root") $(stat -c %G "$root");")
worker_processes 1;
pid "$NGINX_PID_FILE";
error_log "$NGINX_ERROR_LOG" warn;
events { worker_connections 1024; }
http {
    types {
        text/html html htm;
        text/plain txt;
        text/css css;
        application/javascript js;
        application/json json;
        application/xml xml;
        image/png png;
        image/jpeg jpg jpeg;
    }
    default_type application/octet-stream;
    charset utf-8;
    server_tokens off;
    log_not_found off;  # 404s are expected here (the wide site has a million)
    sendfile on;
    keepalive_timeout 65s;
    keepalive_requests 100000;
    gzip on;
    gzip_types text/plain text/css application/javascript application/json application/xml;
    gzip_vary on;
    log_format fsml '\$msec \$remote_addr "\$request" \$status \$body_bytes_sent "\$http_user_agent" \$request_time';
    access_log "$NGINX_ACCESS_LOG" fsml;
    client_body_temp_path "$NGINX_DIR/temp/client_body";
    proxy_temp_path "$NGINX_DIR/temp/proxy";
    fastcgi_temp_path "$NGINX_DIR/temp/fastcgi";
    uwsgi_temp_path "$NGINX_DIR/temp/uwsgi";
    scgi_temp_path "$NGINX_DIR/temp/scgi";
    lua_shared_dict fsml 1m;
    server {
        listen $LISTEN:$NGINX_PORT;
        server_name _;
        root "$root";
        index index.html;
        location ~ /\\. { return 404; }
        $include
    }
}
CONF
}

nginx_status() {
  local pid
  # No test request: it would show up in the access log that tests read.
  if pid=$(nginx_pid) && listening "$NGINX_PORT"; then
    echo "nginx: running $(nginx_url) (pid $pid, root $(sed -n 's/^ *root "\(.*\)";$/\1/p' "$NGINX_CONF"), access log $NGINX_ACCESS_LOG)"
    return 0
  fi
  if listening "$NGINX_PORT"; then echo "nginx: stopped here; port $NGINX_PORT is used by another program"
  else echo "nginx: stopped (port $NGINX_PORT)"; fi
  return 3
}

nginx_start() {
  local root pid t0=$EPOCHREALTIME deadline=$((SECONDS + TIMEOUT)) m
  [[ -x $NGINX_BIN ]] || die "nginx is not installed ($NGINX_BIN missing): apt-get install nginx libnginx-mod-http-lua"
  for m in ndk_http_module ngx_http_lua_module; do
    [[ -f $NGINX_MODULES/$m.so ]] || die "nginx: the Lua module is not installed ($NGINX_MODULES/$m.so missing): apt-get install libnginx-mod-http-lua"
  done
  [[ -n "${FSML_SHOP_DIR:-}" ]] ||
    die "nginx: set FSML_SHOP_DIR to the folder to serve (make a shop with tests/fixtures/shop/make_shop.py --out DIR)"
  root=$(realpath -e "$FSML_SHOP_DIR" 2> /dev/null) || root=""
  [[ -n $root && -d $root ]] || die "nginx: FSML_SHOP_DIR=$FSML_SHOP_DIR: no such folder"
  mkdir -p "$NGINX_DIR/temp"
  nginx_conf "$root" > "$NGINX_CONF.new"
  if pid=$(nginx_pid); then
    if cmp -s "$NGINX_CONF.new" "$NGINX_CONF"; then
      rm -f "$NGINX_CONF.new"
      nginx_url
      return 0
    fi
    rm -f "$NGINX_CONF.new"
    die "nginx: already runs (pid $pid) with another configuration (another FSML_SHOP_DIR or FSML_NGINX_PORT, or a changed $root/.nginx/server.conf); use 'services.sh restart nginx' or another FSML_SERVICES_DIR"
  fi
  listening "$NGINX_PORT" && die "nginx: port $NGINX_PORT is in use by another program; pick another FSML_NGINX_PORT"
  mv "$NGINX_CONF.new" "$NGINX_CONF"
  rm -f "$NGINX_PID_FILE"
  : > "$NGINX_ACCESS_LOG"  # each start begins an empty access log
  say "nginx: starting on $LISTEN:$NGINX_PORT (root $root)"
  # The master daemonizes once its port is bound; -e: no look at /var/log/nginx.
  if ! "$NGINX_BIN" -p "$NGINX_DIR/" -c "$NGINX_CONF" -e "$NGINX_ERROR_LOG" > "$NGINX_BOOT_LOG" 2>&1 < /dev/null 9>&-; then
    cat "$NGINX_BOOT_LOG" >&2
    die "nginx: did not start (output above; configuration $NGINX_CONF)"
  fi
  until pid=$(nginx_pid) && listening "$NGINX_PORT"; do
    ((SECONDS < deadline)) || { tail -n 25 "$NGINX_ERROR_LOG" >&2; die "nginx: not serving within ${TIMEOUT}s (log above)"; }
    sleep 0.05
  done
  say "nginx: ready in $(elapsed "$t0") s"
  nginx_url
}

nginx_stop() {
  local pid
  if ! pid=$(nginx_pid); then
    say "nginx: not running"
    return 0
  fi
  say "nginx: stopping (pid $pid)"
  kill -QUIT "$pid" 2> /dev/null || true  # graceful: answers in flight are finished
  if ! wait_gone "$pid" "$NGINX_PORT"; then
    say "nginx: still running after ${TIMEOUT}s; sending SIGTERM to $pid"
    kill -TERM "$pid" 2> /dev/null || true
    wait_gone "$pid" "$NGINX_PORT" || { kill -KILL "$pid" 2> /dev/null || true; }
    wait_gone "$pid" "$NGINX_PORT" || die "nginx: pid $pid or port $NGINX_PORT still there after SIGKILL"
  fi
  rm -f "$NGINX_PID_FILE"
  say "nginx: stopped"
}

# ---------------------------------------------------------------- main

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

known() { [[ " ${SERVICES[*]} " == *" $1 "* ]] || die "unknown service '$1' (known: ${SERVICES[*]})"; }

# Runs <service>_<action> with the service's lock held, so that concurrent
# calls (parallel tests) do not start or stop the same server twice.
locked() {
  local action=$1 name=$2
  known "$name"
  mkdir -p "$BASE/$name"
  (
    flock -w $((2 * TIMEOUT + 30)) 9 || die "$name: another services.sh call has held $BASE/$name/.lock too long"
    "${name}_$action"
  ) 9> "$BASE/$name/.lock"
}

(($# >= 1)) || { usage >&2; exit 2; }
action=$1
shift
names=("$@")
if ((${#names[@]} == 0)); then
  for n in "${SERVICES[@]}"; do
    # Without a folder to serve, "start everything" leaves nginx out.
    [[ $n == nginx && -z "${FSML_SHOP_DIR:-}" && ($action == start || $action == restart) ]] && continue
    names+=("$n")
  done
fi
case $action in
  start | stop) for n in "${names[@]}"; do locked "$action" "$n"; done ;;
  restart) for n in "${names[@]}"; do locked stop "$n"; locked start "$n"; done ;;
  status)  # no lock: it only looks, and should answer while a start waits
    rc=0
    for n in "${names[@]}"; do
      known "$n"
      "${n}_status" || rc=$?
    done
    exit "$rc"
    ;;
  url | log)
    (($# == 1)) || die "usage: services.sh $action NAME (one of: ${SERVICES[*]})"
    known "$1"
    "${1}_$action"
    ;;
  -h | --help | help) usage ;;
  *) die "unknown action '$action' (start, stop, restart, status, url, log)" ;;
esac
