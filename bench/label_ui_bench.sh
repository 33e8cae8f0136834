#!/usr/bin/env bash
# The labeling view's speed for a keyboard annotator: an image project of
# N+100 unlabeled 28x28 PNGs, `fsml serve`, and bench/label_ui_bench.mjs in
# headless Chromium labeling N items (200 by default) in single mode with
# the key "1". Reports the time per item including the save round trips,
# and the p50/p99 of key press -> next item on screen.
#
#   bench/label_ui_bench.sh [--fsml PATH] [--items N]
#
# Writes bench/out/label_ui_bench.json. Label Studio and Prodigy cannot be
# installed on this machine (no PyPI; Prodigy is not freely available), so
# there is no side-by-side peer: the target is < 150 ms per item.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
source bench/serve_lib.sh
FSML=build/src/fsml
PY=/usr/bin/python3
ITEMS=200
while (($#)); do
  case $1 in
    --fsml) FSML=$2; shift 2 ;;
    --items) ITEMS=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
FSML=$(realpath "$FSML")
[[ -d tests/browser/node_modules/playwright-core ]] || die "tests/browser/node_modules is missing: run scripts/setup.sh"
mkdir -p bench/out
TMP=$(mktemp -d /tmp/fsml-label-ui-XXXXXX)
trap 'stop_all; rm -rf "$TMP"' EXIT
say "making $((ITEMS + 100)) images"
mkdir -p "$TMP/images"
"$PY" - "$TMP/images" $((ITEMS + 100)) <<'PY'
import json, os, random, struct, sys, zlib
out, n = sys.argv[1], int(sys.argv[2])
def png(seed):
    rnd = random.Random(seed)
    raw = b"".join(b"\0" + bytes(rnd.randrange(256) for _ in range(28)) for _ in range(28))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
with open(os.path.join(out, "items.jsonl"), "w") as index:
    for i in range(n):
        name = f"img{i:05d}.png"
        open(os.path.join(out, name), "wb").write(png(i))
        index.write(json.dumps({"image": name}) + "\n")
PY
cd "$TMP"
"$FSML" -q init ws > /dev/null
cd ws
"$FSML" -q project create ui --type image-classification --labels shirt,trouser,bag > /dev/null
"$FSML" -q import ui "$TMP/images/items.jsonl" --format jsonl > /dev/null
echo "bench-password-1" > "$TMP/pw"
"$FSML" -q user add ann --role annotator --password-file "$TMP/pw" > /dev/null
PORT=$(free_port)
FSML_ADMIN_PASSWORD=bench-admin-1 start_bg "$TMP/serve.log" "$FSML" serve --listen 127.0.0.1:$PORT --access-log off --workers 0
wait_http "http://127.0.0.1:$PORT/healthz" "$BG_PID" 30 || die "fsml serve did not start: $(tail -5 "$TMP/serve.log")"
say "labeling $ITEMS items in Chromium"
OUT=$(node "$REPO/bench/label_ui_bench.mjs" "http://127.0.0.1:$PORT" ann bench-password-1 ui "$ITEMS") ||
  die "the browser run failed: $(tail -5 "$TMP/serve.log")"
echo "$OUT" > "$REPO/bench/out/label_ui_bench.json"
"$PY" - "$OUT" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"labeled {r['items']} items in {r['total_s']} s: {r['ms_per_item']} ms per item (target < 150) including saves;")
print(f"key press -> next item on screen: p50 {r['next_p50_ms']} ms, p99 {r['next_p99_ms']} ms, max {r['next_max_ms']} ms (target < 100)")
PY
echo "reproduce: bench/label_ui_bench.sh --items $ITEMS"
