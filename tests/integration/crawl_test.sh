#!/usr/bin/env bash
# `fsml crawl` against the test shop (tests/fixtures/shop/make_shop.py) served
# by nginx, started by scripts/services.sh (FSML_SERVICES_DIR,
# FSML_NGINX_PORT and FSML_SHOP_DIR say which). The shop's expected.json is
# the ground truth; nginx's access log shows what the crawler asked for.
#
#   crawl_test.sh CASE
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SERVICES=$ROOT/scripts/services.sh
source "$ROOT/tests/e2e/lib.sh"
: "${FSML_SHOP_DIR:?FSML_SHOP_DIR must name the generated shop}"
# sql QUERY: runs a query on the workspace's metadata store (the current
# folder's SQLite database, or FSML_STORE_META's PostgreSQL database), one
# row per line, columns separated by tabs.
sql() {
  if [[ ${FSML_STORE_META:-} == postgresql://* ]]; then
    psql -qAt -F $'\t' -v ON_ERROR_STOP=1 "$FSML_STORE_META" -c "$1"
  else
    sqlite3 -separator $'\t' .fsml/meta.db "$1"
  fi
}

# A fresh nginx per case: the flaky page's counter starts again, and the
# access log holds this case's requests only.
"$SERVICES" restart nginx > /dev/null 2>&1 || { echo "cannot restart nginx" >&2; exit 1; }
SHOP=$("$SERVICES" url nginx)
ACCESS_LOG=$("$SERVICES" log nginx)
: > "$ACCESS_LOG"
EXPECTED=$FSML_SHOP_DIR/expected.json
LABELS=$(/usr/bin/python3 -c "import json; print(','.join(json.load(open('$EXPECTED'))['labels']))")

# write_config FILE [KEY=VALUE ...]: crawl.toml for the shop; each KEY=VALUE
# replaces that [crawl] key's line (or adds it).
write_config() {
  local file=$1; shift
  /usr/bin/python3 - "$file" "$SHOP" "$@" <<'PY'
import sys
path, shop, *overrides = sys.argv[1:]
crawl = {
    "seeds": f'["{shop}/"]', "max_depth": "10", "concurrency_per_host": "8", "delay_ms": "0",
    "allow_private": "true", "timeout_s": "5", "max_bytes": "1048576", "retries": "3",
    "user_agent": '"fsml-crawler/0.1 (+https://example.org/contact)"',
}
extract = {"item_url": r'"/product/[0-9]+\\.html$"', "media": '"image"', "label": '"category"',
           "label_as": '"label"'}
for o in overrides:
    k, v = o.split("=", 1)
    (extract if k.startswith("extract.") else crawl)[k.removeprefix("extract.")] = v
with open(path, "w") as f:
    f.write("[crawl]\n" + "".join(f"{k} = {v}\n" for k, v in crawl.items() if v != "-"))
    f.write("\n[extract]\n" + "".join(f"{k} = {v}\n" for k, v in extract.items() if v != "-"))
    f.write("""
[extract.fields]
title = "//h1"
image = "//img[@id='product']/@src"
description = "//div[@class='description']"
category = "//span[@class='category']"
price = "//span[@class='price']"
""")
PY
}

new_workspace() {  # an image project "shop" with the shop's labels
  fsml init ws > /dev/null && cd ws || { fail "init"; exit 1; }
  fsml project create shop --type image-classification --labels "$LABELS" > /dev/null || fail "project create"
}

# check_items: the project holds every expected product exactly once, with
# the right image bytes, fields, label and provenance, and nothing else.
check_items() {
  sql "SELECT pi.item_id, pi.source, pi.meta, coalesce(l.name, '') FROM project_items pi
       JOIN projects p ON p.id = pi.project_id LEFT JOIN labels l ON l.id = pi.label_id WHERE p.name = 'shop'" > "$T/items.tsv"
  /usr/bin/python3 - "$EXPECTED" "$SHOP" "$T/items.tsv" <<'PY' || fail "items differ from expected.json"
import hashlib, json, os, sys
expected = json.load(open(sys.argv[1])); shop = sys.argv[2]
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[3]) if line.strip()]
by_source = {}
problems = []
for item_id, source, meta, label in rows:
    if source in by_source: problems.append(f"two items from {source}")
    by_source[source] = (item_id, json.loads(meta), label)
want = {shop + e["url_path"]: e for e in expected["items"]}
for url in sorted(set(by_source) - set(want)): problems.append(f"unexpected item from {url}")
for url, e in want.items():
    if url not in by_source: problems.append(f"missing item {url}"); continue
    item_id, meta, label = by_source[url]
    if item_id != e["image_sha256"]: problems.append(f"{url}: item {item_id} is not the image {e['image_sha256']}")
    f = meta.get("fields", {})
    for k in ("title", "category", "price", "description"):
        if f.get(k) != e[k]: problems.append(f"{url}: field {k} = {f.get(k)!r}, want {e[k]!r}")
    if label != e["category"]: problems.append(f"{url}: label {label!r}, want {e['category']!r}")
    if meta.get("source_url") != url or meta.get("http_status") != 200 or not meta.get("crawl_id") or not meta.get("fetched_at"):
        problems.append(f"{url}: provenance incomplete: {meta}")
    if meta.get("media_url") != shop + e["image_path"]: problems.append(f"{url}: media_url {meta.get('media_url')}")
    # The object under the item's key holds exactly the image's bytes.
    obj = os.path.join(".fsml", "objects", item_id[:2], item_id[2:4], item_id)
    if os.path.exists(obj) and hashlib.sha256(open(obj, "rb").read()).hexdigest() != item_id:
        problems.append(f"{url}: stored object does not hash to its key")
if len(rows) != len(want): problems.append(f"{len(rows)} items, want {len(want)}")
print("\n".join(problems[:20]), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
  # Every object the project references reads back and matches its key.
  fsml doctor > /dev/null || fail "fsml doctor after the crawl"
}

# check_robots: nothing robots.txt disallows was requested, and robots.txt
# came first.
check_robots() {
  /usr/bin/python3 - "$EXPECTED" "$ACCESS_LOG" <<'PY' || fail "robots.txt not respected"
import json, sys
expected = json.load(open(sys.argv[1]))
paths = [l.split('"')[1].split(" ")[1] for l in open(sys.argv[2]) if '"' in l]
problems = []
if not paths or paths[0] != "/robots.txt": problems.append(f"first request was {paths[:1]}, not /robots.txt")
for p in paths:
    for bad in expected["never_requested"]:
        if p == bad or (bad.endswith("/") and p.startswith(bad)): problems.append(f"requested {p} ({bad} is disallowed)")
print("\n".join(problems[:20]), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

url_state() {  # url_state PATH: "state|http_status|detail" of the URL's frontier row
  sql "SELECT state || '|' || coalesce(CAST(http_status AS TEXT), '') || '|' || coalesce(detail, '') FROM crawl_urls WHERE url = '$SHOP$1'"
}

requests_of() { grep -c "\"GET $1 HTTP" "$ACCESS_LOG"; }

case_shop_items() {
  new_workspace
  write_config ../crawl.toml
  expect_ok "$FSML" -q crawl shop --config ../crawl.toml --json
  local summary; summary=$(cat "$T/out")
  check_items
  check_robots
  expect_eq "$(echo "$summary" | py 'd["status"]')" finished "status"
  expect_eq "$(echo "$summary" | py 'd["queued"]')" 0 "left in the frontier"
  expect_eq "$(echo "$summary" | py 'd["disallowed"] > 0')" True "robots.txt disallowed URLs counted"
  # The flaky page: 500, then 503 with Retry-After, then 200: retried into an item.
  expect_eq "$(requests_of "$(py 'd["special"]["flaky"]["url_path"]' < "$EXPECTED")")" 3 "requests of the flaky page"
  # Byte-identical pages under two URLs: the second is recorded, not stored.
  local dup; dup=$(py 'd["special"]["duplicate"]["url_path"]' < "$EXPECTED")
  expect_eq "$(url_state "$dup")" "done|200|duplicate content" "the duplicate page"
  # The text/plain page is not parsed; the page without a content type is.
  expect_eq "$(url_state /product/4.html)" "failed|200|content_type: not HTML (Content-Type: text/plain; charset=utf-8)" "text/plain page"
  # A redirect chain is followed hop by hop, a loop ends, a broken link fails once.
  expect_eq "$(url_state /old/product-7.html | cut -d'|' -f1-2)" "done|301" "redirect chain, first hop"
  expect_eq "$(url_state /moved/product-7.html | cut -d'|' -f1-2)" "done|302" "redirect chain, second hop"
  expect_eq "$(url_state /loop/b.html | cut -d'|' -f3)" "redirect to an already seen URL $SHOP/loop/a.html" "redirect loop"
  expect_eq "$(url_state /product/missing-1.html)" "failed|404|http_4xx: HTTP 404" "broken link"
  expect_eq "$(requests_of /product/missing-1.html)" 1 "a 404 is not retried"
  # Over max_bytes: refused; a connection closed without an answer: retried, then failed.
  expect_eq "$(url_state /big.html | cut -d'|' -f1)" failed "the page over max_bytes"
  expect_eq "$(url_state /big.html | cut -d'|' -f3 | cut -d: -f1)" too_large "the page over max_bytes"
  expect_eq "$(url_state /reset.html | cut -d'|' -f3 | cut -d: -f1)" reset "the connection closed without an answer"
  # 1 + 3 retries; on a reused keep-alive connection that closes without an
  # answer, libcurl itself sends the request again, up to 5 times.
  local resets; resets=$(requests_of /reset.html)
  ((resets >= 4 && resets <= 24)) || fail "requests of the reset page: $resets, want 4 (1 + 3 retries) to 24"
  # A second crawl of the same site adds nothing.
  expect_ok "$FSML" -q crawl shop --config ../crawl.toml --json
  expect_eq "$(py 'd["items"]' < "$T/out")" 0 "new items from a second crawl"
  expect_eq "$(sql "SELECT count(*) FROM project_items")" "$(py 'len(d["items"])' < "$EXPECTED")" "items after two crawls"
  fsml crawls shop > "$T/crawls" || fail "fsml crawls"
  expect_eq "$(grep -c finished "$T/crawls")" 2 "crawls listed"
}

# Requests to one host start delay_ms apart whatever the concurrency (as
# nginx sees them: within 10%, since a request that waits for a new
# connection leaves a little later than fsml starts it).
case_politeness() {
  new_workspace
  write_config ../crawl.toml delay_ms=100 concurrency_per_host=4
  expect_ok "$FSML" -q crawl shop --config ../crawl.toml --max-pages 12 --json
  /usr/bin/python3 - "$ACCESS_LOG" <<'PY' || fail "per-host delay not held"
import sys
starts = sorted(float(l.split()[0]) - float(l.split()[-1]) for l in open(sys.argv[1]) if l.strip())
gaps = [b - a for a, b in zip(starts, starts[1:])]
print(f"{len(starts)} requests, smallest gap {min(gaps):.3f} s", file=sys.stderr)
sys.exit(1 if min(gaps) < 0.090 or len(starts) < 10 else 0)
PY
}

# max_pages bounds a crawl, which can then be resumed to the end with the
# same config.
case_limit_and_resume() {
  new_workspace
  write_config ../crawl.toml
  expect_ok "$FSML" -q crawl shop --config ../crawl.toml --max-pages 12 --json
  expect_eq "$(py 'd["status"]' < "$T/out")" limited "status at max_pages"
  expect_eq "$(py 'd["pages"] <= 12' < "$T/out")" True "pages within max_pages"
  expect_eq "$(py 'd["queued"] > 0' < "$T/out")" True "URLs left in the frontier"
  write_config ../other.toml delay_ms=1
  expect_fail "ran with another config" "$FSML" -q crawl shop --config ../other.toml --resume
  expect_ok "$FSML" -q crawl shop --config ../crawl.toml --resume --max-pages 100000 --json
  expect_eq "$(py 'd["status"]' < "$T/out")" finished "status after resume"
  expect_eq "$(py 'd["queued"]' < "$T/out")" 0 "left in the frontier after resume"
  check_items
}

# kill -9 mid-crawl, then --resume: every product ends up exactly once, and
# no page finished before the kill is fetched again.
case_resume_after_kill9() {
  new_workspace
  write_config ../crawl.toml delay_ms=15 concurrency_per_host=2
  "$FSML" -q crawl shop --config ../crawl.toml > "$T/first.out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do  # until some items are durable
    sleep 0.1
    [[ $(sql "SELECT count(*) FROM project_items" 2> /dev/null || echo 0) -ge 40 ]] && break
  done
  kill -9 "$pid"; wait "$pid" 2> /dev/null
  local done_before logged_before
  done_before=$(sql "SELECT count(*) FROM crawl_urls WHERE state <> 'queued'")
  sql "SELECT substr(url, length('$SHOP') + 1) FROM crawl_urls WHERE state <> 'queued'" | sort > "$T/done_before"
  logged_before=$(wc -l < "$ACCESS_LOG")
  ((done_before > 0)) || fail "nothing was durable before the kill"
  [[ $(sql "SELECT status FROM crawls") == running ]] || fail "a killed crawl stays 'running' until resumed"
  expect_ok "$FSML" -q crawl shop --config ../crawl.toml --resume --json
  expect_eq "$(py 'd["status"]' < "$T/out")" finished "status after resume"
  check_items
  tail -n +"$((logged_before + 1))" "$ACCESS_LOG" | awk -F'"' '{split($2, r, " "); print r[2]}' | sort -u > "$T/after"
  comm -12 "$T/done_before" "$T/after" | grep -v '^/robots.txt$\|^/sitemap.xml$' > "$T/refetched"
  [[ -s $T/refetched ]] && fail "pages finished before the kill were fetched again: $(head -3 "$T/refetched" | tr '\n' ' ')"
  expect_eq "$(sql "SELECT count(*) FROM crawls")" 1 "one crawl, resumed"
}

case_text_project() {
  fsml init ws > /dev/null && cd ws || exit 1
  fsml project create titles --type text-classification --labels "$LABELS" > /dev/null || fail "project create"
  write_config ../crawl.toml extract.media=- extract.text='"title"' extract.label_as='"suggestion"'
  expect_ok "$FSML" -q crawl titles --config ../crawl.toml --json
  expect_eq "$(py 'd["items"]' < "$T/out")" "$(py 'len(d["items"])' < "$EXPECTED")" "text items"
  expect_eq "$(py 'd["media"]' < "$T/out")" 0 "no media fetched for a text project"
  expect_eq "$(sql "SELECT count(*) FROM project_items WHERE label_id IS NULL")" \
    "$(py 'len(d["items"])' < "$EXPECTED")" "weak labels are suggestions: the items stay unlabeled"
  expect_eq "$(sqlite3 .fsml/meta.db "SELECT json_extract(meta, '\$.weak_label') FROM project_items WHERE source = '$SHOP/product/0.html'")" \
    "$(py 'd["items"][0]["category"]' < "$EXPECTED")" "the weak label in the metadata"
}

case_bad_input() {
  new_workspace
  write_config ../base.toml
  # Unknown keys, invalid XPath and regular expressions: errors with the line.
  write_config ../unknown.toml colour='"red"'
  expect_fail "unknown.toml: line 11: unknown key 'colour' in [crawl]" "$FSML" crawl shop --config ../unknown.toml
  write_config ../unknown.toml extract.follow_links='"//a"'
  expect_fail "unknown.toml: line 17: unknown key 'follow_links' in [extract]" "$FSML" crawl shop --config ../unknown.toml
  sed 's|^title = "//h1"$|title = "//h1["|' ../base.toml > ../xpath.toml
  expect_fail "xpath.toml: line 19: [extract.fields] title: invalid XPath '//h1['" "$FSML" crawl shop --config ../xpath.toml
  write_config ../regex.toml 'deny=["(unclosed"]'
  expect_fail "regex.toml: line 11: [crawl] deny: invalid regular expression '(unclosed'" "$FSML" crawl shop --config ../regex.toml
  write_config ../type.toml delay_ms='"fast"'
  expect_fail "[crawl] delay_ms: must be a whole number" "$FSML" crawl shop --config ../type.toml
  printf '[crawl\nseeds = [' > ../syntax.toml
  expect_fail "syntax.toml: line 1:" "$FSML" crawl shop --config ../syntax.toml
  write_config ../ftp.toml 'seeds=["ftp://example.org/"]'
  expect_fail "unsupported scheme" "$FSML" crawl shop --config ../ftp.toml
  # A missing, huge or binary config file, or a folder.
  expect_fail "no-such.toml: no such file" "$FSML" crawl shop --config ../no-such.toml
  head -c 2000000 /dev/urandom > ../huge.toml
  expect_fail "huge.toml: larger than the limit" "$FSML" crawl shop --config ../huge.toml
  printf '[crawl]\nseeds = \x00\xff\xfe\x89PNG\n' > ../binary.toml
  expect_fail "binary.toml: line 2:" "$FSML" crawl shop --config ../binary.toml
  expect_fail "Is a directory" "$FSML" crawl shop --config ..
  # The project must exist and match the extraction; --resume needs a crawl.
  expect_fail "no project 'nope'" "$FSML" crawl nope --config ../base.toml
  write_config ../text.toml extract.media=- extract.text='"title"'
  expect_fail "is an image project: [extract] media" "$FSML" crawl shop --config ../text.toml
  expect_fail "has no unfinished crawl to resume" "$FSML" crawl shop --config ../base.toml --resume
  expect_eq "$(wc -l < "$ACCESS_LOG")" 0 "no request made by a rejected command"
  # SSRF guard: loopback is refused unless allow_private = true.
  write_config ../guarded.toml allow_private=false retries=0
  expect_ok "$FSML" -q crawl shop --config ../guarded.toml --json
  expect_eq "$(py 'd["errors"].get("blocked", 0) > 0' < "$T/out")" True "loopback refused by the SSRF guard"
  expect_eq "$(py 'd["items"]' < "$T/out")" 0 "items through the SSRF guard"
  expect_eq "$(wc -l < "$ACCESS_LOG")" 0 "requests that got past the SSRF guard"
  # A host that does not resolve.
  write_config ../dns.toml 'seeds=["http://fsml-test.invalid/"]' retries=0
  expect_ok "$FSML" -q crawl shop --config ../dns.toml --json
  expect_eq "$(py 'd["errors"].get("dns", 0) > 0' < "$T/out")" True "DNS failure reported"
  expect_eq "$(sql "SELECT count(*) FROM project_items")" 0 "items after failed crawls"
}

run_case "$@"
