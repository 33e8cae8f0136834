#!/usr/bin/env bash
# The ceiling of the crawl benchmark: wget's recursive download of one site,
# which fetches and parses but extracts nothing and keeps one request in
# flight.
#
#   bench/crawl_wget.sh URL DIR
#
# Downloads everything reachable from URL on its host into DIR (made if
# missing; files under DIR/HOST:PORT/), obeying robots.txt: `wget -r -l inf
# -nv --no-parent -e robots=on`, plus gzip like the other crawlers ask for,
# and 3 tries per URL with no wait, retrying 500 and 503 answers too (as
# Scrapy's defaults do). wget's log is DIR/wget.log. Prints one JSON line:
# {"pages": HTML files saved, "files": all files saved, "seconds": wall
# time, "wget_exit": wget's exit status}. A site with broken links makes wget
# exit 8, a dropped connection 4: both are reported, not failures here.
set -euo pipefail
(($# == 2)) || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
url=$1 dir=$2
command -v wget > /dev/null || { echo "crawl_wget: wget is not installed: apt-get install wget" >&2; exit 1; }
mkdir -p "$dir"
t0=$EPOCHREALTIME
rc=0
wget -r -l inf -nv --no-parent -e robots=on --compression=auto --tries=3 --waitretry=0 \
  --retry-on-http-error=500,503 -P "$dir" -o "$dir/wget.log" "$url" || rc=$?
seconds=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
# -nv logs each saved file as: DATE TIME URL:<url> [size] -> "<file>" [n]
files=$(grep -c ' URL:.* -> "' "$dir/wget.log" || true)
pages=$(grep -c ' URL:.* -> ".*\.html*"' "$dir/wget.log" || true)
((rc == 0 || rc == 4 || rc == 8)) || { tail -n 20 "$dir/wget.log" >&2; echo "crawl_wget: wget failed (exit $rc; log above)" >&2; exit 1; }
echo "{\"pages\": $pages, \"files\": $files, \"seconds\": $seconds, \"wget_exit\": $rc}"
