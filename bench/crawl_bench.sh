#!/usr/bin/env bash
# Crawling, side by side: `fsml crawl` and the crawler a Python user writes
# instead (Scrapy, bench/crawl_scrapy.py), with wget -r as the ceiling (it
# fetches and follows links but extracts nothing, one request at a time), on
# the test shop scaled to 20,000 products, served by nginx on loopback. In
# one run, on this machine.
#
#   bench/crawl_bench.sh [--fsml PATH] [--products N] [--concurrency N] [--port P] [--out DIR] [--keep]
#
#   --products N     products in the shop (default 20000; tests/fixtures/shop/make_shop.py)
#   --concurrency N  requests in flight for fsml and Scrapy (default 8; wget has 1)
#   --port P         nginx's port (default 8095; its own FSML_SERVICES_DIR in the scratch folder)
#   --out DIR        results (default bench/out): crawl_bench.md, logs/crawl_*
#   --keep           keep the scratch folder (shop, downloads, workspace)
#
# Same rules for every crawler: robots.txt obeyed, no delay, gzip asked for,
# 3 tries for 5xx answers and dropped connections; fsml and Scrapy extract the
# same fields and fetch each product's image. Before each crawler nginx is
# restarted, so each one meets the same flaky page and an empty access log.
# What is counted comes from nginx's access log, the same way for every
# crawler: pages = requests for anything but /images/, requests = all. Wall
# time and peak RSS come from /usr/bin/time -v around the crawler's command.
# The items of fsml and Scrapy are checked against the shop's expected.json.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
FSML=build/src/fsml
PRODUCTS=20000
CONC=8
PORT=8095
OUT=bench/out
KEEP=0
while (($#)); do
  case $1 in
    --fsml) FSML=$2; shift 2 ;;
    --products) PRODUCTS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "crawl_bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$PRODUCTS" "$CONC" "$PORT"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "crawl_bench: --products, --concurrency and --port take positive integers" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "crawl_bench: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }
say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

LOGS=$OUT/logs
mkdir -p "$LOGS"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/crawl_bench.XXXXXX")
SERVICES=$REPO/scripts/services.sh
export FSML_SERVICES_DIR=$SCRATCH/services FSML_NGINX_PORT=$PORT FSML_SHOP_DIR=$SCRATCH/shop
cleanup() {
  "$SERVICES" stop nginx > /dev/null 2>&1 || true
  if ((KEEP)); then say "kept $SCRATCH"; else rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT

say "shop: $PRODUCTS products"
t=$(now)
/usr/bin/python3 tests/fixtures/shop/make_shop.py --out "$SCRATCH/shop" --products "$PRODUCTS" > /dev/null
say "shop written in $(since "$t") s"
EXPECTED=$SCRATCH/shop/expected.json
URL=$("$SERVICES" url nginx)/
ACCESS_LOG=$("$SERVICES" log nginx)

# Counts and checks items (JSON lines with "url", "image_sha256", ...)
# against expected.json: "N ok" or "N (problems)".
check_items() {
  /usr/bin/python3 - "$EXPECTED" "$1" << 'PY'
import json, sys
from collections import Counter
from urllib.parse import urlparse
want = {e["url_path"]: e for e in json.load(open(sys.argv[1]))["items"]}
got = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
seen = Counter(urlparse(it["url"]).path for it in got)
wrong = sum(1 for it in got if urlparse(it["url"]).path in want and any(
    it.get(f) != want[urlparse(it["url"]).path][f] for f in ("title", "category", "price", "description", "image_sha256")))
problems = [f"{n} {what}" for n, what in (
    (len(set(want) - set(seen)), "missing"), (len(set(seen) - set(want)), "unexpected"),
    (sum(c - 1 for c in seen.values()), "duplicates"), (wrong, "with wrong fields")) if n]
print(f"{len(got)} of {len(want)} " + (f"({', '.join(problems)})" if problems else "ok"))
PY
}

declare -A PAGES REQS SECS RSS ITEMS
# run_crawler NAME COMMAND...: one crawl on a freshly started nginx.
run_crawler() {
  local name=$1 t rc=0
  shift
  "$SERVICES" restart nginx > /dev/null 2> "$LOGS/crawl_${name}.nginx"
  say "$name: crawling $URL"
  t=$(now)
  /usr/bin/time -v -o "$LOGS/crawl_${name}.time" "$@" > "$LOGS/crawl_${name}.out" 2> "$LOGS/crawl_${name}.err" || rc=$?
  SECS[$name]=$(since "$t")
  cp "$ACCESS_LOG" "$LOGS/crawl_${name}.access.log"
  REQS[$name]=$(wc -l < "$ACCESS_LOG")
  PAGES[$name]=$(awk '{ split($0, q, "\""); split(q[2], r, " "); if (r[2] !~ /^\/images\//) n++ } END { print n + 0 }' "$ACCESS_LOG")
  RSS[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$LOGS/crawl_${name}.time")
  ((rc == 0)) || { tail -n 20 "$LOGS/crawl_${name}.err" >&2; say "$name: exit status $rc (log above)"; SECS[$name]="failed"; }
  say "$name: ${PAGES[$name]} pages, ${REQS[$name]} requests in ${SECS[$name]} s, peak RSS ${RSS[$name]} MB"
}

run_crawler wget bench/crawl_wget.sh "$URL" "$SCRATCH/wget"
ITEMS[wget]="-"

run_crawler scrapy /usr/bin/python3 bench/crawl_scrapy.py --start "$URL" --concurrency "$CONC" --out "$SCRATCH/scrapy.jsonl"
ITEMS[scrapy]=$(check_items "$SCRATCH/scrapy.jsonl")

# ---- fsml ------------------------------------------------------------------
WS=$SCRATCH/ws
"$FSML" -q init "$WS" > /dev/null
"$FSML" -q -w "$WS" project create shop --type image-classification \
  --labels "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot" > /dev/null
# The shop's listings are paginated 24 a page: a deep max_depth, as Scrapy and wget have none.
cat > "$SCRATCH/crawl.toml" << TOML
[crawl]
seeds = ["$URL"]
concurrency_per_host = $CONC
delay_ms = 0
respect_robots = true
sitemaps = true
allow_private = true
retries = 2
max_depth = 1000
max_pages = 1000000

[extract]
item_url = "/product/[0-9]+[.]html\$"
media = "image"
label = "category"

[extract.fields]
title = "//h1"
category = "//span[@class='category']"
price = "//span[@class='price']"
description = "//div[@class='description']"
image = "//img[@id='product']/@src"
TOML
run_crawler fsml "$FSML" -q -w "$WS" crawl shop --config "$SCRATCH/crawl.toml" --json
# The items as check_items reads them: the source URL, the fields, and the
# item's id, which is the SHA-256 of the image bytes fsml stored.
/usr/bin/python3 - "$WS/.fsml/meta.db" > "$SCRATCH/fsml.jsonl" << 'PY'
import json, sqlite3, sys
for source, meta, item_id in sqlite3.connect(sys.argv[1]).execute("SELECT source, meta, item_id FROM project_items"):
    f = json.loads(meta)["fields"]
    print(json.dumps({"url": source, "image_sha256": item_id, **{k: f.get(k) for k in ("title", "category", "price", "description")}}))
PY
ITEMS[fsml]=$(check_items "$SCRATCH/fsml.jsonl")

# ---- a frontier of a million URLs ------------------------------------------
# 1,000 pages of 1,000 links each to pages that do not exist: fsml fetches the
# 1,001 pages (max_pages) and keeps the million URLs they name in its frontier.
say "wide site: 1,000 pages x 1,000 links"
"$SERVICES" stop nginx > /dev/null 2>&1
/usr/bin/python3 tests/fixtures/shop/make_shop.py --out "$SCRATCH/wide" --wide 1000 --links-per-page 1000 > /dev/null
FSML_SHOP_DIR=$SCRATCH/wide "$SERVICES" start nginx > /dev/null 2>&1
sed -e 's/^max_pages = .*/max_pages = 1001/' -e 's|^item_url = .*|item_url = "/wide/p/"|' "$SCRATCH/crawl.toml" > "$SCRATCH/wide.toml"
"$FSML" -q init "$SCRATCH/ws-wide" > /dev/null
"$FSML" -q -w "$SCRATCH/ws-wide" project create wide --type image-classification --labels a > /dev/null
t=$(now)
/usr/bin/time -v -o "$LOGS/crawl_wide.time" "$FSML" -q -w "$SCRATCH/ws-wide" crawl wide --config "$SCRATCH/wide.toml" --json \
  > "$LOGS/crawl_wide.out" 2> "$LOGS/crawl_wide.err" || say "wide: failed (see $LOGS/crawl_wide.err)"
WIDE_SECS=$(since "$t")
WIDE_QUEUED=$(/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["queued"])' < "$LOGS/crawl_wide.out" 2> /dev/null || echo "?")
WIDE_RSS=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$LOGS/crawl_wide.time")
say "wide: $WIDE_QUEUED URLs left in the frontier after ${WIDE_SECS} s, peak RSS $WIDE_RSS MB"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b; else print "-" }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s + 0 > 0) printf "%.0f", n / s; else print "-" }'; }
{
  echo "## Crawling the test shop: $PRODUCTS products ($(date -u +%F), $(nproc) cores)"
  echo
  echo "| crawler | in flight | pages | requests | items (checked) | seconds | pages/s | peak RSS (MB) | pages/s vs Scrapy | pages/s vs wget |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for name in fsml scrapy wget; do
    [[ -n "${SECS[$name]:-}" ]] || continue
    r=$(rate "${PAGES[$name]}" "${SECS[$name]}")
    flight=$CONC; [[ $name == wget ]] && flight=1
    echo "| $name | $flight | ${PAGES[$name]} | ${REQS[$name]} | ${ITEMS[$name]} | ${SECS[$name]} | $r | ${RSS[$name]} |" \
      "$(ratio "$r" "$(rate "${PAGES[scrapy]}" "${SECS[scrapy]}")") | $(ratio "$r" "$(rate "${PAGES[wget]}" "${SECS[wget]}")") |"
  done
  echo
  echo "pages: requests other than /images/ in nginx's access log (HTML pages, redirects, errors,"
  echo "robots.txt, sitemap.xml); requests: all of them. wget does not read the sitemap, so it"
  echo "misses the sitemap-only products. items: checked against the shop's expected.json (URL, fields,"
  echo "SHA-256 of the image bytes)."
  echo
  echo "A frontier of a million URLs: fsml fetched 1,001 pages naming $WIDE_QUEUED URLs it had not fetched"
  echo "yet, in $WIDE_SECS s, with a peak RSS of $WIDE_RSS MB (the URLs themselves wait in the metadata store;"
  echo "memory holds a 64-bit hash per URL seen and 4,096 queued URLs per host)."
  echo
  echo "Reproduce: \`bench/crawl_bench.sh --products $PRODUCTS --concurrency $CONC\`"
} | tee "$OUT/crawl_bench.md"
