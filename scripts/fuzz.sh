#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang into build-fuzz/ and runs
# each one briefly over a scratch copy of its seeds in fuzz/corpus/<target>/.
# Bounded for CI: FSML_FUZZ_SECONDS per target, FSML_FUZZ_JOBS targets at a
# time. Prints one line per target and exits 1 if any target found a crash,
# a timeout, a leak or an out-of-memory input; the message names the input
# file libFuzzer kept (under build-fuzz/fuzz-artifacts/<target>/).
#
#   scripts/fuzz.sh                       all targets
#   scripts/fuzz.sh fuzz_csv fuzz_idx     some of them
#   FSML_FUZZ_SECONDS=60                  fuzz longer (default 20)
#   FSML_FUZZ_JOBS=1                      targets run at once (default: CPU count)
#   FSML_FUZZ_TIMEOUT=10                  seconds one input may take (default 10)
#   FSML_FUZZ_BUILD_DIR=dir               build there (default build-fuzz); scripts/test.sh
#                                         shares its clang sanitizer build (build-asan)
#
# Reproduce a finding: build-fuzz/fuzz/<target> <input file>
# Idempotent: new corpus entries go to a temporary folder that is removed on
# exit, never into fuzz/corpus/; artifacts of a target's previous run are
# cleared when it runs again.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(fuzz_idx fuzz_csv fuzz_jsonl fuzz_manifest fuzz_image fuzz_upload_zip fuzz_config fuzz_requirement fuzz_safetensors fuzz_http fuzz_s3
  fuzz_url fuzz_robots fuzz_sitemap fuzz_crawl_config fuzz_html)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

SECONDS_PER_TARGET=${FSML_FUZZ_SECONDS:-20}
JOBS=${FSML_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
PER_INPUT_TIMEOUT=${FSML_FUZZ_TIMEOUT:-10}
BUILD_DIR=${FSML_FUZZ_BUILD_DIR:-build-fuzz}
ARTIFACTS=$BUILD_DIR/fuzz-artifacts

command -v clang++ > /dev/null ||
  { echo "fuzz: clang++ not found; install clang and libclang-rt-14-dev (scripts/setup.sh does)" >&2; exit 2; }

# A fresh build dir gets the fuzz targets alone; one already configured (the
# shared sanitizer build) keeps its other settings.
only_fuzz=(); [[ -f $BUILD_DIR/CMakeCache.txt ]] || only_fuzz=(-DFSML_BUILD_TESTS=OFF)
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFSML_FUZZ=ON "${only_fuzz[@]}" -DFSML_BUILD_ML=OFF -DFSML_BUILD_BENCH=OFF > /dev/null
cmake --build "$BUILD_DIR" --target "${TARGETS[@]}"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/fsml-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# run_one TARGET: fuzzes it; its log and exit status go to $ARTIFACTS/TARGET/.
run_one() {
  local t=$1 art="$ARTIFACTS/$1" rc=0
  rm -rf "$art"
  mkdir -p "$art" "$SCRATCH/$t"
  cp fuzz/corpus/"$t"/* "$SCRATCH/$t/"
  # timeout(1) is a backstop; libFuzzer itself stops after max_total_time.
  timeout -k 10 $((SECONDS_PER_TARGET + 120)) "$BUILD_DIR/fuzz/$t" \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len=65536 \
    -timeout="$PER_INPUT_TIMEOUT" -print_final_stats=1 -artifact_prefix="$art/" \
    "$SCRATCH/$t" > "$art/log.txt" 2>&1 || rc=$?
  echo "$rc" > "$art/rc"
}

# summarize TARGET RC: prints the target's line; returns 1 on a finding.
summarize() {
  local t=$1 rc=$2 log="$ARTIFACTS/$1/log.txt" runs eps result input
  if [[ ! -f $log ]]; then
    printf '%-16s FAILED: did not start (see the messages above)\n' "$t"
    return 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  # Without final stats (the run stopped at a finding) use the last status line.
  [[ -n $runs ]] || runs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
  [[ -n $eps ]] || eps=$(sed -n 's/.*exec\/s: \([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  if ((rc == 0)); then
    result=ok
  elif ((rc == 124 || rc == 137)); then
    result="FAILED: still running after $((SECONDS_PER_TARGET + 120)) s, killed (log: $log)"
  else
    local kind=crash
    grep -q 'ERROR: libFuzzer: timeout' "$log" && kind=timeout
    grep -q 'ERROR: libFuzzer: out-of-memory' "$log" && kind=out-of-memory
    grep -q 'ERROR: LeakSanitizer' "$log" && kind=leak
    result="FAILED: $kind, input ${input:-(none written)} (log: $log)"
  fi
  printf '%-16s runs: %-9s exec/s: %-7s %s\n' "$t" "${runs:-0}" "${eps:-0}" "$result"
  [[ $result == ok ]]
}

echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET} s each, $JOBS at a time"
for t in "${TARGETS[@]}"; do
  while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
  run_one "$t" &
done
wait

failed=0
for t in "${TARGETS[@]}"; do summarize "$t" "$(cat "$ARTIFACTS/$t/rc" 2>/dev/null || echo 1)" || failed=1; done
if ((failed)); then
  echo "fuzz: FAILED; reproduce with $BUILD_DIR/fuzz/<target> <input>, then add the input to" \
       "fuzz/corpus/<target>/ as regress-<what>.<ext> with the fix" >&2
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ok"
