#!/usr/bin/env bash
# The data layer on the scale-out backends, next to the embedded defaults:
# import + commit of the 70,000 Fashion-MNIST items, and the training data
# loader (first epoch from the object store, then a cached epoch), on
#   embedded     SQLite + the local object store (the defaults)
#   pg+local     PostgreSQL + the local object store (isolates the database)
#   pg+s3        PostgreSQL + an S3-compatible server (moto)
# and, for where the time goes, the S3 server's own ceiling: boto3 putting
# and getting small objects from 16 threads, the way fsml does.
#
#   bench/scaleout_bench.sh [--fsml PATH] [--out DIR]
#
# Servers: scripts/services.sh start postgresql s3 (FSML_SERVICES_DIR and
# FSML_*_PORT choose them; started here if not running). Every timing is
# wall-clock, measured here, in this run. The table goes to stdout and
# OUT/scaleout_bench.md; command output to OUT/logs/.
set -euo pipefail
say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FSML=$REPO/build/src/fsml
LOADER=$REPO/build/bench/loader_bench
OUT=$REPO/bench/out
while (($#)); do
  case $1 in
    --fsml) FSML=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x $FSML && -x $LOADER ]] || { echo "build first: scripts/setup.sh (needs $FSML and $LOADER)" >&2; exit 1; }
SERVICES=$REPO/scripts/services.sh
"$SERVICES" start postgresql s3 > /dev/null
PG=$("$SERVICES" url postgresql | sed 's|/fsml$||')
S3=$("$SERVICES" url s3)
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_DEFAULT_REGION=us-east-1
mkdir -p "$OUT/logs"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
fresh_db() { psql -qAt "$PG/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" 2> /dev/null; }
fresh_bucket() {
  curl -s -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$S3/$1"
}

declare -A IMPORT COMMIT EPOCH1 EPOCH2
run_backend() {  # run_backend NAME META BLOBS
  local name=$1 ws=$SCRATCH/$1 t
  say "$name: init"
  "$FSML" -q init "$ws" --meta "$2" --blobs "$3" > /dev/null
  cd "$ws"
  say "$name: import 70,000 Fashion-MNIST items"
  t=$(now); "$FSML" import fashion --format fashion-mnist > "$OUT/logs/scaleout_${name}_import.log" 2>&1; IMPORT[$name]=$(since "$t")
  t=$(now); "$FSML" data commit fashion -m v1 > "$OUT/logs/scaleout_${name}_commit.log" 2>&1; COMMIT[$name]=$(since "$t")
  say "$name: loader, train split, 2 epochs"
  "$LOADER" "$ws" fashion@v1 --split train --epochs 2 --threads 2 > "$OUT/logs/scaleout_${name}_loader.log" 2>&1
  EPOCH1[$name]=$(awk -F'|' '$2 ~ /^ *0 / {gsub(/ /, "", $5); print $5}' "$OUT/logs/scaleout_${name}_loader.log")
  EPOCH2[$name]=$(awk -F'|' '$2 ~ /^ *1 / {gsub(/ /, "", $5); print $5}' "$OUT/logs/scaleout_${name}_loader.log")
  cd "$REPO"
}

fresh_db fsml_bench_pg_local; fresh_db fsml_bench_pg_s3; fresh_bucket fsml-bench
run_backend embedded "sqlite://.fsml/meta.db" "file://.fsml/objects"
run_backend pg+local "$PG/fsml_bench_pg_local" "file://.fsml/objects"
run_backend pg+s3 "$PG/fsml_bench_pg_s3" "s3://fsml-bench/ws?endpoint=$S3"

say "the S3 server's ceiling: boto3, 16 threads, 5,000 PUTs and GETs of 600-byte objects"
CEILING=$(/usr/bin/python3 - "$S3" <<'PY'
import concurrent.futures as cf, os, sys, time
import boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="fsml-bench-ceiling")
body = os.urandom(600)
keys = [f"k/{i:06d}" for i in range(5000)]
with cf.ThreadPoolExecutor(16) as ex:
    t = time.monotonic(); list(ex.map(lambda k: s3.put_object(Bucket="fsml-bench-ceiling", Key=k, Body=body), keys)); put = time.monotonic() - t
    t = time.monotonic(); list(ex.map(lambda k: s3.get_object(Bucket="fsml-bench-ceiling", Key=k)["Body"].read(), keys)); get = time.monotonic() - t
print(f"{len(keys) / put:.0f} {len(keys) / get:.0f}")
PY
)
read -r CEIL_PUT CEIL_GET <<< "$CEILING"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "-" }'; }
{
  echo "## Scale-out backends: 70,000 Fashion-MNIST items ($(date -u +%F), $(nproc) cores)"
  echo
  echo "| step | embedded | pg+local | pg+s3 | pg+local / embedded | pg+s3 / embedded |"
  echo "|---|---|---|---|---|---|"
  echo "| import (s) | ${IMPORT[embedded]} | ${IMPORT[pg+local]} | ${IMPORT[pg+s3]} | $(ratio "${IMPORT[pg+local]}" "${IMPORT[embedded]}") | $(ratio "${IMPORT[pg+s3]}" "${IMPORT[embedded]}") |"
  echo "| commit (s) | ${COMMIT[embedded]} | ${COMMIT[pg+local]} | ${COMMIT[pg+s3]} | $(ratio "${COMMIT[pg+local]}" "${COMMIT[embedded]}") | $(ratio "${COMMIT[pg+s3]}" "${COMMIT[embedded]}") |"
  echo "| loader epoch 1, from the store (samples/s) | ${EPOCH1[embedded]} | ${EPOCH1[pg+local]} | ${EPOCH1[pg+s3]} | $(ratio "${EPOCH1[embedded]}" "${EPOCH1[pg+local]}") slower | $(ratio "${EPOCH1[embedded]}" "${EPOCH1[pg+s3]}") slower |"
  echo "| loader epoch 2, cached (samples/s) | ${EPOCH2[embedded]} | ${EPOCH2[pg+local]} | ${EPOCH2[pg+s3]} | $(ratio "${EPOCH2[embedded]}" "${EPOCH2[pg+local]}") slower | $(ratio "${EPOCH2[embedded]}" "${EPOCH2[pg+s3]}") slower |"
  echo
  echo "The S3 server's ceiling (boto3, 16 threads, 600-byte objects): ${CEIL_PUT} PUT/s, ${CEIL_GET} GET/s."
  echo "fsml on pg+s3: import $(awk -v s="${IMPORT[pg+s3]}" 'BEGIN { printf "%.0f", 70000 / s }') objects/s, loader epoch 1 ${EPOCH1[pg+s3]} objects/s."
  echo
  echo "Reproduce: \`bench/scaleout_bench.sh\`"
} | tee "$OUT/scaleout_bench.md"
