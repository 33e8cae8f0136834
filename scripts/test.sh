#!/usr/bin/env bash
# Runs every test tier: unit, e2e (the CLI loop, kill -9 faults), the
# sanitizer build of the unit tests, and a short run of every fuzzer.
# Sets up first (scripts/setup.sh is idempotent and fast when done).
#
#   scripts/test.sh                 everything
#   FSML_TEST_SANITIZE=0            skip the ASan/UBSan build
#   FSML_FUZZ_SECONDS=N             seconds per fuzzer (default 10; 0 skips)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== unit and e2e tests"
(cd build && ctest --output-on-failure -j2 --timeout 600)

if [[ "${FSML_TEST_SANITIZE:-1}" == 1 ]]; then
  echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  FSML_SKIP_INSTALL=1 FSML_BUILD_DIR=build-asan FSML_BUILD_TARGET=unit_tests FSML_CMAKE_ARGS="-DFSML_SANITIZE=ON -DFSML_BUILD_ML=OFF -DFSML_BUILD_BENCH=OFF" scripts/setup.sh
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure -j2 -L unit --timeout 600)
fi

if [[ "${FSML_FUZZ_SECONDS:-10}" != 0 && -x scripts/fuzz.sh ]]; then
  echo "== fuzzers (${FSML_FUZZ_SECONDS:-10} s each)"
  FSML_FUZZ_SECONDS=${FSML_FUZZ_SECONDS:-10} scripts/fuzz.sh
fi
echo "== all test tiers passed"
