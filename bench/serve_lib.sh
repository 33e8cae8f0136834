# shellcheck shell=bash
# Shared by bench/serve_bench.sh and bench/jobs_bench.sh (source it; needs
# FSML, PY and OUT set): a scratch workspace with a registered model, free
# ports, waiting for servers, and process groups that the EXIT trap stops.
# make_model_workspace sets WS (the workspace) and MODEL_REF for the caller.
# shellcheck disable=SC2034 # WS and MODEL_REF are read by the scripts that source this file

say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Process groups started by start_bg; stop_all ends them (TERM, then KILL).
BG_PGIDS=()
start_bg() {  # start_bg LOG CMD... : runs CMD in a new process group; sets BG_PID
  local log=$1; shift
  setsid "$@" > "$log" 2>&1 < /dev/null &
  BG_PID=$!
  BG_PGIDS+=("$BG_PID")
}
group_alive() {  # any process of group $1 that is not a zombie
  local p st
  for p in $(pgrep -g "$1" 2> /dev/null); do
    st=$(awk '{print $3}' "/proc/$p/stat" 2> /dev/null) || continue
    [[ $st != Z && $st != X ]] && return 0
  done
  return 1
}
stop_group() {  # stop_group PGID: TERM the group, KILL what is left after 10 s
  local g=$1 i
  group_alive "$g" || return 0
  kill -TERM -- "-$g" 2> /dev/null || true
  for ((i = 0; i < 100; i++)); do group_alive "$g" || return 0; sleep 0.1; done
  say "process group $g did not stop on TERM; sending KILL"
  kill -KILL -- "-$g" 2> /dev/null || true
}
stop_all() {
  local g
  for g in "${BG_PGIDS[@]}"; do stop_group "$g"; done
  BG_PGIDS=()
}

# A TCP port nothing listens on (the kernel's choice for port 0).
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID SECONDS: until URL answers 2xx; fails if PID exits first.
wait_http() {
  local url=$1 pid=$2 deadline=$((SECONDS + $3))
  until curl -sf -o /dev/null "$url"; do
    group_alive "$pid" || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Resident memory (MiB) of process group $1, summed over its processes.
group_rss_mib() {
  local total=0 p kb
  for p in $(pgrep -g "$1" 2> /dev/null); do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2> /dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo $((total / 1024))
}

# make_model_workspace DIR: a workspace with the first 6,000 training and
# 2,000 test images of Fashion-MNIST at fashion@v1, cnn-small trained for one
# epoch (speed is measured, not accuracy), registered as fashion/1 and aliased
# production; the model exported to DIR/model (for the Python peers) and 256
# test PNGs copied to DIR/pngs/NNN.png, listed in DIR/pngs.txt.
make_model_workspace() {
  local dir=$1 ws=$1/ws
  local fashion=/usr/share/datasets/fashion-mnist
  [[ -f $fashion/t10k-images-idx3-ubyte.gz ]] || die "$fashion is missing (scripts/setup.sh installs dataset-fashion-mnist)"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$PY" "$(dirname "${BASH_SOURCE[0]}")/fashion_subset.py" "$fashion" "$dir/idx"
  "$FSML" -q init "$ws" > /dev/null
  "$FSML" -q -w "$ws" import fashion "$dir/idx" --format fashion-mnist > /dev/null
  "$FSML" -q -w "$ws" data commit fashion -m "Fashion-MNIST subset (serving benchmarks)" > /dev/null
  "$FSML" -q -w "$ws" train fashion@v1 --model cnn-small --epochs 1 --json > "$dir/train.json"
  local run
  run=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['id'])" "$dir/train.json")
  "$FSML" -q -w "$ws" models register "$run" --name fashion --json > "$dir/register.json"
  MODEL_REF=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['ref'])" "$dir/register.json")
  "$FSML" -q -w "$ws" models alias fashion "${MODEL_REF#*/}" production > /dev/null
  "$FSML" -q -w "$ws" models export fashion@production "$dir/model" > /dev/null
  "$FSML" -q -w "$ws" data export fashion@v1 "$dir/export" --format imagefolder > /dev/null
  mkdir -p "$dir/pngs"
  "$PY" - "$dir/export/test" "$dir/pngs" 256 > "$dir/pngs.txt" <<'PY'
import os, shutil, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.path.join(r, f) for r, _, fs in os.walk(src) for f in fs if f.endswith(".png"))
step = max(1, len(files) // n)  # spread over the labels (folders are sorted by label)
for i, f in enumerate(files[::step][:n]):
    out = os.path.join(os.path.abspath(dst), f"{i:03d}.png")
    shutil.copyfile(f, out)
    print(out)
PY
  rm -rf "$dir/export" "$dir/idx"
  WS=$ws
}
