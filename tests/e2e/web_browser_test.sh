#!/usr/bin/env bash
# The web app in headless Chromium (tests/browser/web_e2e.mjs) against a real
# `fsml serve`: log in, create a project, upload, label by keyboard in both
# modes, undo, flag, a disagreement reviewed, agreement, a commit.
# Screenshots: $FSML_ARTIFACTS_DIR/web-e2e (default build/test-artifacts).
set -uo pipefail
FSML=${FSML_BIN:?FSML_BIN must name the fsml binary}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHOTS=${FSML_ARTIFACTS_DIR:-$SRC/build/test-artifacts}/web-e2e
T=$(mktemp -d)
SPID=""
trap 'kill -9 $SPID 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -d "$SRC/tests/browser/node_modules/playwright-core" ]] || fail "tests/browser/node_modules is missing: run scripts/setup.sh"
"$FSML" -q init "$T/ws" > /dev/null || fail "init"
cd "$T/ws"
echo "user-password-1" > "$T/pw"
"$FSML" -q user add ann --role annotator --password-file "$T/pw" > /dev/null || fail "user add ann"
"$FSML" -q user add bob --role annotator --password-file "$T/pw" > /dev/null || fail "user add bob"
FSML_ADMIN_PASSWORD=admin-password-1 "$FSML" serve --listen 127.0.0.1:0 --access-log off --workers 0 > "$T/serve.out" 2> "$T/serve.err" &
SPID=$!
for _ in $(seq 100); do
  URL=$(sed -n 's/^listening on //p' "$T/serve.out")
  [[ -n "$URL" ]] && break
  sleep 0.1
done
[[ -n "$URL" ]] || { cat "$T/serve.err" >&2; fail "server did not start"; }
rm -rf "$SHOTS"
node "$SRC/tests/browser/web_e2e.mjs" "$URL" admin-password-1 user-password-1 "$SHOTS" || { tail -20 "$T/serve.err" >&2; fail "browser run"; }
for shot in 01-login 02-new-project 03-import 04-label-single 05-label-grid 06-review 07-agreement 08-versions 09-projects; do
  [[ -s "$SHOTS/$shot.png" ]] || fail "screenshot $shot.png missing"
done
echo "PASS (screenshots in $SHOTS)"
