#!/usr/bin/env bash
# The demo page, the flywheel setting and the dataset versions page in
# headless Chromium (tests/browser/demo_e2e.mjs) against a real fsml serve
# with a trained model. Screenshots in test-artifacts/demo-e2e of the build folder.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$(cd "$SERVE_LIB_DIR/../.." && pwd)
SHOTS=${FSML_ARTIFACTS_DIR:-$SRC/build/test-artifacts}/demo-e2e

[[ -d "$SRC/tests/browser/node_modules/playwright-core" ]] || { fail "tests/browser/node_modules is missing: run scripts/setup.sh"; exit 1; }
serve_setup
# v2: three more labeled items.
mkdir -p extra
/usr/bin/python3 - <<'PY'
import json, struct, zlib
def png(seed):
    raw = b"".join(b"\x00" + bytes((x * 17 + y * 5 + seed * 83) % 256 for x in range(8)) for y in range(8))
    chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
with open("extra/items.jsonl", "w") as index:
    for i, label in enumerate("abc"):
        open(f"extra/x{i}.png", "wb").write(png(i + 1))
        index.write(json.dumps({"image": f"x{i}.png", "label": label}) + "\n")
PY
fsml import toy extra/items.jsonl > /dev/null || fail "import extra"
fsml data commit toy -m v2 > /dev/null || fail "commit v2"
echo "viewer-password-1" > "$T/pw"
fsml user add vera --role viewer --password-file "$T/pw" > /dev/null || fail "user add vera"
FSML_ADMIN_PASSWORD=admin-password-1 start_server --workers 0 || exit 1
rm -rf "$SHOTS"
node "$SRC/tests/browser/demo_e2e.mjs" "$URL" admin-password-1 viewer-password-1 "$SHOTS" || { tail -20 "$T/serve.err" >&2; fail "browser run"; }
for shot in 01-demo 02-demo-viewer 03-settings 04-versions; do
  [[ -s "$SHOTS/$shot.png" ]] || fail "screenshot $shot.png missing"
done
stop_server || fail "server did not stop cleanly"
[[ $FAILED == 0 ]] && echo "PASS (screenshots in $SHOTS)"
exit $FAILED
