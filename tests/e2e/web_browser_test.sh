#!/usr/bin/env bash
# The web app in headless Chromium (tests/browser/web_e2e.mjs) against a real
# `fsml serve`: log in, create a project, upload, label by keyboard in both
# modes, undo, flag, a disagreement reviewed, agreement, a commit, a retrain
# and a model suggestion accepted with Enter.
# Screenshots: $FSML_ARTIFACTS_DIR/web-e2e (default build/test-artifacts).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$(cd "$SERVE_LIB_DIR/../.." && pwd)
SHOTS=${FSML_ARTIFACTS_DIR:-$SRC/build/test-artifacts}/web-e2e

[[ -d "$SRC/tests/browser/node_modules/playwright-core" ]] || { fail "tests/browser/node_modules is missing: run scripts/setup.sh"; exit 1; }
fsml init . > /dev/null || { fail "init"; exit 1; }
echo "user-password-1" > "$T/pw"
fsml user add ann --role annotator --password-file "$T/pw" > /dev/null || fail "user add ann"
fsml user add bob --role annotator --password-file "$T/pw" > /dev/null || fail "user add bob"
FSML_ADMIN_PASSWORD=admin-password-1 start_server --workers 0 || exit 1
rm -rf "$SHOTS"
node "$SRC/tests/browser/web_e2e.mjs" "$URL" admin-password-1 user-password-1 "$SHOTS" || { tail -20 "$T/serve.err" >&2; fail "browser run"; }
for shot in 01-login 02-new-project 03-import 04-label-single 05-label-grid 06-review 07-agreement 08-versions 09-projects 10-retrain 11-suggestion; do
  [[ -s "$SHOTS/$shot.png" ]] || fail "screenshot $shot.png missing"
done
stop_server || fail "server did not stop cleanly"
[[ $FAILED == 0 ]] && echo "PASS (screenshots in $SHOTS)"
exit $FAILED
