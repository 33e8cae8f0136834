#!/usr/bin/env bash
# Runs, models and the evaluation explorer in headless Chromium
# (tests/browser/ml_e2e.mjs) against a real fsml serve: two trained runs,
# a promotion through the gate, an evaluation started from the web, a
# confusion-matrix cell's items, one sent to review, a comparison.
# Screenshots in test-artifacts/ml-e2e of the build folder.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$(cd "$SERVE_LIB_DIR/../.." && pwd)
SHOTS=${FSML_ARTIFACTS_DIR:-$SRC/build/test-artifacts}/ml-e2e

[[ -d "$SRC/tests/browser/node_modules/playwright-core" ]] || { fail "tests/browser/node_modules is missing: run scripts/setup.sh"; exit 1; }
setup 600 0.2   # a fifth of the labels wrong: the models make mistakes to explore
fsml train toy@v1 --model mlp --epochs 2 --batch-size 32 --seed 1 > /dev/null || fail "train run 1"
fsml train toy@v1 --model mlp --epochs 3 --batch-size 32 --seed 2 > /dev/null || fail "train run 2"
fsml models register 1 --name toy > /dev/null || fail "register run 1"
fsml models register 2 --name toy > /dev/null || fail "register run 2"
fsml eval toy/1 toy@v1 > /dev/null || fail "evaluate toy/1"
FSML_ADMIN_PASSWORD=admin-password-1 start_server --workers 0 || exit 1
rm -rf "$SHOTS"
node "$SRC/tests/browser/ml_e2e.mjs" "$URL" admin-password-1 "$SHOTS" || { tail -20 "$T/serve.err" >&2; fail "browser run"; }
for shot in 01-runs 02-run 03-compare 04-promote 05-explorer 06-review 07-eval-compare; do
  [[ -s "$SHOTS/$shot.png" ]] || fail "screenshot $shot.png missing"
done
stop_server || fail "server did not stop cleanly"
[[ $FAILED == 0 ]] && echo "PASS (screenshots in $SHOTS)"
exit $FAILED
