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

# The sanitizer tier and the fuzzers share one clang build (build-asan/):
# FSML_FUZZ compiles every library once with ASan + UBSan + coverage, and both
# the unit tests and the fuzz targets link against those same objects.
SAN_DIR=build-asan
if [[ -f $SAN_DIR/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$SAN_DIR/CMakeCache.txt"; then
  rm -rf "$SAN_DIR"   # configured by an older layout with another compiler
fi
if [[ "${FSML_TEST_SANITIZE:-1}" == 1 ]]; then
  echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
  CC=clang CXX=clang++ FSML_SKIP_INSTALL=1 FSML_BUILD_DIR=$SAN_DIR FSML_BUILD_TARGET=unit_tests \
    FSML_CMAKE_ARGS="-DFSML_FUZZ=ON -DFSML_BUILD_TESTS=ON -DFSML_BUILD_ML=OFF -DFSML_BUILD_BENCH=OFF" scripts/setup.sh
  (cd $SAN_DIR && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure -j2 -L unit --timeout 600)
fi

if [[ "${FSML_FUZZ_SECONDS:-10}" != 0 && -x scripts/fuzz.sh ]]; then
  echo "== fuzzers (${FSML_FUZZ_SECONDS:-10} s each)"
  FSML_FUZZ_BUILD_DIR=$SAN_DIR FSML_FUZZ_SECONDS=${FSML_FUZZ_SECONDS:-10} scripts/fuzz.sh
fi
echo "== all test tiers passed"
