#!/usr/bin/env bash
# End-to-end tests of the fsml CLI. Usage: cli_test.sh CASE
# Each case runs in a fresh temp folder with FSML_BIN pointing at the binary.
set -uo pipefail

FSML=${FSML_BIN:?FSML_BIN must point at the fsml binary}
FASHION=/usr/share/datasets/fashion-mnist
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
export FSML_USER=tester
FAILED=0

fail() { echo "FAIL: $*" >&2; FAILED=1; }
# expect_ok CMD...: the command must exit 0.
expect_ok() {
  if ! "$@" >"$T/out" 2>"$T/err"; then
    fail "expected success: $*"; cat "$T/out" "$T/err" >&2
  fi
}
# expect_fail "message part" CMD...: the command must exit non-zero and print
# the message part on stderr, on one line starting with "fsml: error:".
expect_fail() {
  local want=$1; shift
  if "$@" >"$T/out" 2>"$T/err"; then
    fail "expected failure: $*"; cat "$T/out" >&2; return
  fi
  if ! grep -q "^fsml: error: .*$(printf '%s' "$want" | sed 's/[][\.*^$/]/\\&/g')" "$T/err"; then
    fail "expected error containing '$want' from: $*"; echo "--- stderr:" >&2; cat "$T/err" >&2
  fi
}
expect_eq() { [[ "$1" == "$2" ]] || fail "${3:-value}: expected '$2', got '$1'"; }
expect_contains() { grep -q -- "$2" "$1" || { fail "'$1' lacks '$2'"; cat "$1" >&2; }; }
jq_py() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
fsml() { "$FSML" -q "$@"; }

# A small idx data set: N images of 4x4 pixels with labels 0..2, written
# as <dir>/train-* and <dir>/t10k-* pairs. Deterministic.
make_idx() {
  local dir=$1 ntrain=$2 ntest=$3
  mkdir -p "$dir"
  /usr/bin/python3 - "$dir" "$ntrain" "$ntest" <<'PY'
import gzip, random, struct, sys
d, ntrain, ntest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
for prefix, n in (("train", ntrain), ("t10k", ntest)):
    imgs = bytearray(); labels = bytearray()
    for i in range(n):
        imgs += bytes(rng.randrange(256) for _ in range(16)); labels.append(i % 3)
    with gzip.open(f"{d}/{prefix}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 4, 4) + imgs)
    with gzip.open(f"{d}/{prefix}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels)
PY
}

count_items() { fsml project show "$1" --json | jq_py "d['items']"; }

case_help_and_version() {
  "$FSML" > out.txt 2>&1 || fail "bare fsml should exit 0"
  for cmd in init quickstart doctor project import data; do expect_contains out.txt "$cmd"; done
  expect_ok "$FSML" --help
  expect_ok "$FSML" --version
  expect_contains "$T/out" "fsml"
  expect_ok "$FSML" data --help
  for cmd in commit log show diff tag export; do expect_contains "$T/out" "$cmd"; done
  "$FSML" no-such-command > /dev/null 2>err.txt && fail "unknown command should fail"
  expect_contains err.txt "fsml: error:"
}

case_init_and_config() {
  expect_ok fsml init ws
  [[ -f ws/fsml.toml && -d ws/.fsml ]] || fail "init made no fsml.toml/.fsml"
  expect_fail "already an fsml workspace" fsml init ws
  # Commands find the workspace from a subfolder, from --workspace and FSML_WORKSPACE.
  mkdir -p ws/sub/deeper
  (cd ws/sub/deeper && "$FSML" project list > /dev/null) || fail "workspace not found from a subfolder"
  expect_ok fsml --workspace ws project list
  FSML_WORKSPACE=$T/ws expect_ok fsml project list
  expect_fail "not in an fsml workspace" fsml project list
  # Unknown keys are errors; env overrides move the metadata database.
  cp ws/fsml.toml good.toml
  printf '[store]\nmeta = "sqlite://.fsml/meta.db"\nmetta = 1\n' > ws/fsml.toml
  expect_fail "unknown key 'metta' in [store]" fsml -w ws project list
  printf '[stroe]\n' > ws/fsml.toml
  expect_fail "unknown section [stroe]" fsml -w ws project list
  printf '[store\n' > ws/fsml.toml
  expect_fail "fsml.toml: line 1" fsml -w ws project list
  cp good.toml ws/fsml.toml
  FSML_STORE_META="sqlite://$T/other.db" expect_ok fsml -w ws project create p --labels a,b
  [[ -f "$T/other.db" ]] || fail "FSML_STORE_META did not move the database"
  expect_fail "no project 'p'" fsml -w ws project show p
  FSML_LOG_LEVEL=loud expect_fail "log.level 'loud' (from env FSML_LOG_LEVEL)" fsml -w ws project list
  FSML_LOG_LEVEL=debug "$FSML" -w ws project list 2> debug.txt > /dev/null
  expect_contains debug.txt "debug.*workspace"
  FSML_STORE_META="mysql://x" expect_fail "unsupported URL" fsml -w ws project list
}

case_project_commands() {
  fsml init . > /dev/null
  expect_ok fsml project create shop --type image-classification --labels shirt,trouser,bag
  expect_contains "$T/out" "3 labels: shirt, trouser, bag"
  expect_fail "already exists" fsml project create shop --labels a
  expect_fail "project name 'Bad Name'" fsml project create "Bad Name" --labels a
  expect_fail "unknown task type 'video'" fsml project create v --type video --labels a
  expect_fail "label 'a' is listed twice" fsml project create d --labels a,b,a
  expect_fail "split ratios '90,20,10'" fsml project create s --labels a --splits 90,20,10
  expect_ok fsml project list --json
  expect_eq "$(jq_py "d[0]['name']" < "$T/out")" "shop"
  expect_ok fsml project edit shop --labels shirt,trouser,bag,sandal
  expect_ok fsml project edit shop --rename-label sandal=sandals
  expect_ok fsml project show shop --json
  expect_eq "$(jq_py "','.join(d['labels'])" < "$T/out")" "shirt,trouser,bag,sandals"
  expect_fail "no project 'nope'" fsml project show nope
  # Labeling settings: overlap, the random review sample, collecting production inputs.
  expect_ok fsml project edit shop --overlap 2 --review-sample 2.5 --collect-below 0.6
  expect_ok fsml project show shop --json
  expect_eq "$(jq_py "(d['overlap'], d['review_sample_permille'], d['collect_below'])" < "$T/out")" "(2, 25, 0.6)"
  expect_ok fsml project show shop
  expect_contains "$T/out" "overlap 2, review sample 2.5%, collecting production inputs below 0.60"
  expect_ok fsml project edit shop --collect-below off
  expect_ok fsml project show shop --json
  expect_eq "$(jq_py "d['collect_below']" < "$T/out")" "None"
  expect_fail "overlap must be 1 to 10" fsml project edit shop --overlap 11
  expect_fail "--review-sample '101'" fsml project edit shop --review-sample 101
  expect_fail "--review-sample 'x'" fsml project edit shop --review-sample x
  expect_fail "--collect-below 'nan'" fsml project edit shop --collect-below nan
  expect_fail "threshold must be a probability in (0, 1]" fsml project edit shop --collect-below 1.5
  expect_fail "threshold must be a probability in (0, 1]" fsml project edit shop --collect-below 0
}

case_fashion_import_counts() {
  fsml init . > /dev/null
  expect_ok fsml import fashion --format fashion-mnist
  expect_contains "$T/out" "70,000 new"
  fsml project show fashion --json > show.json
  expect_eq "$(jq_py "d['items']" < show.json)" 70000 items
  expect_eq "$(jq_py "d['labeled']" < show.json)" 70000 labeled
  expect_eq "$(jq_py "d['splits']['test']" < show.json)" 10000 test
  expect_eq "$(jq_py "d['splits']['train'] + d['splits']['val']" < show.json)" 60000 train+val
  expect_eq "$(jq_py "sorted(set(v['total'] for v in d['per_label'].values()))" < show.json)" "[7000]" per-label
  expect_eq "$(jq_py "sorted(set(v['test'] for v in d['per_label'].values()))" < show.json)" "[1000]" per-label-test
  expect_eq "$(jq_py "len(d['labels'])" < show.json)" 10
  expect_eq "$(jq_py "d['labels'][0]" < show.json)" "T-shirt/top"
  # Val is carved from the official training set by the hash rule (~10%).
  val=$(jq_py "d['splits']['val']" < show.json)
  (( val > 5500 && val < 6500 )) || fail "val split $val is not about 6,000"
  # Importing again changes nothing.
  expect_ok fsml import fashion --format fashion-mnist
  expect_contains "$T/out" "0 new"
  expect_contains "$T/out" "70,000 already present"
}

case_commit_log_show_diff_tag() {
  fsml init . > /dev/null
  make_idx data 300 60
  expect_ok fsml import small data --format idx --label-names a,b,c
  expect_contains "$T/out" "360 new"
  expect_fail "a version needs a message" fsml data commit small -m ""
  expect_ok fsml data commit small -m "first"
  expect_contains "$T/out" "committed small@v1: 360 items"
  expect_fail "nothing changed since small@v1" fsml data commit small -m "again"
  expect_ok fsml data log small --json
  expect_eq "$(jq_py "d[0]['ref']" < "$T/out")" "small@v1"
  expect_eq "$(jq_py "d[0]['author']" < "$T/out")" "tester"
  # Relabel 5 items and add 2 new ones through a JSONL import.
  fsml data export small@v1 exp --format jsonl > /dev/null
  /usr/bin/python3 - <<'PY'
import json
rows = [json.loads(l) for l in open("exp/data.jsonl")]
out = open("changes.jsonl", "w")
for r in rows[:5]:
    r["label"] = {"a": "b", "b": "c", "c": "a"}[r["label"]]
    out.write(json.dumps({"image": "exp/" + r["image"], "label": r["label"], "split": r["split"]}) + "\n")
PY
  make_idx more 2 0
  /usr/bin/python3 - <<'PY'
import gzip, struct, zlib
# Two new 4x4 images as PNG files, referenced from a JSONL.
def png(pixels):
    raw = b"".join(b"\x00" + bytes(pixels[r*4:(r+1)*4]) for r in range(4))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
with open("changes.jsonl", "a") as out:
    for i in range(2):
        open(f"new{i}.png", "wb").write(png([(i * 37 + k * 11) % 256 for k in range(16)]))
        out.write('{"image": "new%d.png", "label": "a"}\n' % i)
PY
  expect_ok fsml import small changes.jsonl
  expect_contains "$T/out" "2 new"
  expect_contains "$T/out" "5 relabeled"
  expect_ok fsml data commit small -m "fixes"
  expect_ok fsml data diff small@v1 small@v2 --json
  expect_eq "$(jq_py "(d['added'], d['removed'], d['relabeled'], d['unchanged'])" < "$T/out")" "(2, 0, 5, 355)" diff
  expect_ok fsml data diff small@v1 small@v2
  expect_contains "$T/out" "2 added, 0 removed, 5 relabeled, 355 unchanged"
  expect_ok fsml data tag small@v1 gold
  expect_ok fsml data show small@gold --json
  expect_eq "$(jq_py "d['version']" < "$T/out")" 1
  expect_fail "tag 'gold' already names small@v1" fsml data tag small@v2 gold
  expect_ok fsml data tag small@v2 gold --force
  expect_ok fsml data show small --json
  expect_eq "$(jq_py "(d['version'], d['tags'])" < "$T/out")" "(2, ['gold'])"
  expect_fail "no version small@v9 (latest is small@v2)" fsml data show small@v9
  expect_fail "no version or tag 'small@silver'" fsml data show small@silver
  expect_fail "would be confused with a version number" fsml data tag small@v1 v3
  expect_ok fsml data log small
  expect_contains "$T/out" "small@v2"
}

case_export_reimport_roundtrip() {
  fsml init . > /dev/null
  make_idx data 500 100
  fsml import orig data --format idx --label-names "a,b,c/d" > /dev/null
  fsml data commit orig -m v1 > /dev/null
  for fmt in jsonl imagefolder; do
    expect_ok fsml data export orig@v1 "exp-$fmt" --format "$fmt"
    expect_contains "$T/out" "600 items"
    [[ -f "exp-$fmt/version.json" ]] || fail "$fmt export lacks version.json"
    expect_ok fsml project create "copy-$fmt" --labels "a,b,c/d"
    if [[ $fmt == jsonl ]]; then src=exp-jsonl/data.jsonl; else src=exp-imagefolder; fi
    expect_ok fsml import "copy-$fmt" "$src"
    expect_contains "$T/out" "600 new"
    expect_ok fsml data commit "copy-$fmt" -m copy
    # Same items, labels and splits: the manifests' rows match.
    fsml data export "copy-$fmt@v1" "back-$fmt" --format jsonl > /dev/null
    /usr/bin/python3 - "exp-jsonl/data.jsonl" "back-$fmt/data.jsonl" <<'PY' || fail "$fmt round trip differs"
import json, sys
a = sorted((r["id"], r["label"], r["split"]) for r in map(json.loads, open(sys.argv[1])))
b = sorted((r["id"], r["label"], r["split"]) for r in map(json.loads, open(sys.argv[2])))
sys.exit(0 if a == b and len(a) == 600 else 1)
PY
    cmp <(cd exp-jsonl/items && cat $(ls)) <(cd "back-$fmt/items" && cat $(ls)) || fail "$fmt: item bytes differ"
  done
  [[ -d "exp-imagefolder/train/c%2Fd" ]] || fail "label with / not escaped in the folder name"
  mkdir nonempty && touch nonempty/x
  expect_fail "exists and is not empty" fsml data export orig@v1 nonempty
  expect_fail "unknown export format 'zip'" fsml data export orig@v1 e2 --format zip
}

case_text_project_jsonl_csv() {
  fsml init . > /dev/null
  fsml project create reviews --type text-classification --labels pos,neg > /dev/null
  printf '{"text": "great shoes", "label": "pos", "stars": 5}\n\n{"text": "fell apart", "label": "neg"}\n{"text": "no label yet"}\n' > a.jsonl
  expect_ok fsml import reviews a.jsonl
  expect_contains "$T/out" "3 new"
  printf 'text,label,source\n"comma, inside",pos,web\n"multi\nline ""quoted""",neg,web\n' > b.csv
  expect_ok fsml import reviews b.csv
  expect_contains "$T/out" "2 new"
  fsml project show reviews --json > show.json
  expect_eq "$(jq_py "(d['items'], d['labeled'], d['unlabeled'])" < show.json)" "(5, 4, 1)"
  expect_ok fsml data commit reviews -m v1
  expect_contains "$T/out" "4 items"
  expect_ok fsml data export reviews@v1 exported --format jsonl
  grep -q '"text":"multi\\nline \\"quoted\\""' exported/data.jsonl || fail "CSV text not preserved"
  expect_fail "imagefolder export needs an image project" fsml data export reviews@v1 out2 --format imagefolder
}

case_bad_input_errors() {
  fsml init . > /dev/null
  fsml project create t --type text-classification --labels pos,neg > /dev/null
  fsml project create img --labels sandal,bag > /dev/null
  printf '{"text": "x", "label": "pos"}\n{"text": "y", "label": "sandal"}\n' > unknown.jsonl
  expect_fail "unknown.jsonl: line 2: unknown label 'sandal' (project labels: pos, neg)" fsml import t unknown.jsonl
  printf '{"text": "x"}\n{"text": \n' > broken.jsonl
  expect_fail "broken.jsonl: line 2: not valid JSON" fsml import t broken.jsonl
  printf '[1,2]\n' > arr.jsonl
  expect_fail "arr.jsonl: line 1: expected a JSON object, got array" fsml import t arr.jsonl
  printf 'label\npos\n' > nocol.csv
  expect_fail "nocol.csv: line 1: missing column 'text' (header has: label)" fsml import t nocol.csv
  printf 'label,source\n' > header-only.csv
  expect_fail "header-only.csv: line 1: missing column 'text' (header has: label, source)" fsml import t header-only.csv
  printf 'text,label\n"open quote,pos\n' > quote.csv
  expect_fail "quote.csv: line 2: unterminated quoted field" fsml import t quote.csv
  printf 'text,label\na,pos,extra\n' > fields.csv
  expect_fail "fields.csv: line 2: 3 fields, the header has 2" fsml import t fields.csv
  printf '{"text": "same", "label": "pos"}\n{"text": "same", "label": "neg"}\n' > dup.jsonl
  expect_fail "dup.jsonl: line 2: duplicate item (same bytes as dup.jsonl: line 1)" fsml import t dup.jsonl
  expect_ok fsml import t dup.jsonl --skip-duplicates
  expect_contains "$T/out" "1 duplicates skipped"
  printf '{"text": "\xff\xfe", "label": "pos"}\n' > utf.jsonl
  expect_fail "not valid JSON" fsml import t utf.jsonl
  expect_fail "no-such-file.jsonl: no such file" fsml import t no-such-file.jsonl
  expect_fail "no project 'ghost'" fsml import ghost dup.jsonl
  # A failed import that would have created its project leaves no project.
  mkdir e && printf 'x' | gzip > e/train-images-idx3-ubyte.gz && printf 'x' | gzip > e/train-labels-idx1-ubyte.gz
  expect_fail "too short for an IDX header" fsml import made e --format idx --label-names a
  expect_fail "no project 'made'" fsml project show made
  # Images: corrupt, truncated, not an image.
  mkdir -p imgs/sandal imgs/bag
  make_idx d 3 0
  fsml import tmp d --format idx --label-names sandal,bag,x > /dev/null
  fsml data commit tmp -m x > /dev/null
  fsml data export tmp@v1 good --format imagefolder > /dev/null
  f=$(ls good/train/sandal/*.png good/val/sandal/*.png 2>/dev/null | head -1)
  [[ -n "$f" ]] || f=$(find good -name '*.png' | head -1)
  head -c 40 "$f" > imgs/sandal/truncated.png
  echo "not an image" > imgs/bag/text.png
  expect_fail "not a PNG or JPEG image" fsml import img imgs --format imagefolder
  rm imgs/bag/text.png
  expect_fail "sandal/truncated.png" fsml import img imgs --format imagefolder
  # Corrupt and truncated idx.
  mkdir badidx && printf 'garbage!' | gzip > badidx/train-images-idx3-ubyte.gz && cp d/train-labels-idx1-ubyte.gz badidx/
  expect_fail "train-images-idx3-ubyte.gz: not an IDX file (bad magic)" fsml import i2 badidx --format idx --label-names a,b,c
  mkdir truncidx && cp d/* truncidx/ && gzip -dc d/train-images-idx3-ubyte.gz | head -c 30 | gzip > truncidx/train-images-idx3-ubyte.gz
  expect_fail "truncated: header promises 48 data bytes, file has 14" fsml import i3 truncidx --format idx --label-names a,b,c
  mkdir gzcut && cp d/* gzcut/ && head -c 20 d/train-images-idx3-ubyte.gz > gzcut/train-images-idx3-ubyte.gz
  expect_fail "gzip: truncated" fsml import i4 gzcut --format idx --label-names a,b,c
  expect_fail "has value 2 but only 2 label names were given" fsml import i5 d --format idx --label-names a,b
  # A gzip file of two members (as cat a.gz b.gz makes) is read whole.
  mkdir multi && cp d/train-labels-idx1-ubyte.gz multi/
  gzip -dc d/train-images-idx3-ubyte.gz > raw.idx
  { head -c 20 raw.idx | gzip; tail -c +21 raw.idx | gzip; } > multi/train-images-idx3-ubyte.gz
  expect_ok fsml import i7 multi --format idx --label-names a,b,c
  expect_contains "$T/out" "3 new"
  expect_fail "--format idx needs --label-names" fsml import i6 d --format idx
  expect_fail "unknown import format 'xml'" fsml import t x --format xml
  # Label set changes that would orphan annotations are refused.
  expect_fail "label 'x' has 1 annotations" fsml project edit tmp --labels sandal,bag
  # Bad refs.
  expect_fail "nothing after '@'" fsml data show tmp@
  expect_fail "no project 'nope'" fsml data show nope@v1
  expect_fail "project 'tmp' has no labeled items to commit" true_false_guard
}
true_false_guard() { "$FSML" -q project create empty --labels a > /dev/null; "$FSML" data commit empty -m x 2>&1 | sed 's/empty/tmp/' >&2; return 1; }

case_import_is_atomic() {
  fsml init . > /dev/null
  fsml project create t --type text-classification --labels pos,neg > /dev/null
  printf '{"text": "one", "label": "pos"}\n{"text": "two", "label": "neg"}\n' > ok.jsonl
  fsml import t ok.jsonl > /dev/null
  fsml data commit t -m v1 > /dev/null
  before=$(fsml project show t --json)
  # 1,000 good lines and one bad one at the end: nothing of the batch lands.
  /usr/bin/python3 -c "
import json
with open('big.jsonl','w') as f:
    for i in range(1000): f.write(json.dumps({'text': f'item {i}', 'label': 'pos'}) + '\n')
    f.write(json.dumps({'text': 'bad', 'label': 'nope'}) + '\n')"
  expect_fail "big.jsonl: line 1001: unknown label 'nope'" fsml import t big.jsonl
  after=$(fsml project show t --json)
  expect_eq "$after" "$before" "project after a failed import"
  expect_ok fsml doctor
}

# Kills an import at different moments; every time the workspace must pass
# doctor and hold either none or all of the import, and a rerun finishes it.
case_kill9_during_import() {
  fsml init . > /dev/null
  for delay in 0.3 1.2 2.2 3.2 4.0; do
    "$FSML" -q import fashion --format fashion-mnist > /dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    expect_ok fsml doctor
    if fsml project show fashion --json > show.json 2>/dev/null; then
      n=$(jq_py "d['items']" < show.json)
      [[ $n == 0 || $n == 70000 ]] || fail "after kill at ${delay}s: $n items (a half import)"
      a=$(jq_py "d['annotations']" < show.json)
      [[ $a == 0 || $a == 70000 ]] || fail "after kill at ${delay}s: $a annotations"
    fi
  done
  expect_ok fsml import fashion --format fashion-mnist
  expect_eq "$(count_items fashion)" 70000 "items after resuming"
  expect_ok fsml doctor
}

case_kill9_during_commit() {
  fsml init . > /dev/null
  fsml import fashion --format fashion-mnist > /dev/null
  for delay in 0.05 0.15 0.3 0.5; do
    "$FSML" -q data commit fashion -m "try $delay" --allow-empty > /dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    expect_ok fsml doctor
  done
  # Every version that exists is whole.
  fsml data log fashion --json > log.json
  for v in $(jq_py "' '.join(str(x['version']) for x in d)" < log.json); do
    expect_ok fsml data show "fashion@v$v" --json
    expect_eq "$(jq_py "d['items']" < "$T/out")" 70000 "items of fashion@v$v"
  done
  expect_ok fsml data commit fashion -m final --allow-empty
}

case_doctor_detects_damage() {
  fsml init . > /dev/null
  make_idx data 50 10
  fsml import small data --format idx --label-names a,b,c > /dev/null
  fsml data commit small -m v1 > /dev/null
  expect_ok fsml doctor --json
  expect_eq "$(jq_py "(d['ok'], d['items'], d['versions'])" < "$T/out")" "(True, 60, 1)"
  # Flip one stored object's bytes.
  /usr/bin/python3 - <<'PY'
import sqlite3
db = sqlite3.connect(".fsml/objects/packed.db")
key, = db.execute("SELECT key FROM objects WHERE length(data) < 1000 LIMIT 1").fetchone()
db.execute("UPDATE objects SET data = X'00' WHERE key = ?", (key,))
db.commit()
print(key.hex())
PY
  expect_fail "problems found" fsml doctor
  expect_contains "$T/out" "does not match its hash"
}

# The quickstart (needs the LibTorch module): a first run imports, commits,
# trains one epoch, registers, evaluates and aliases production; a second
# reuses all of it; a third serves the web app, where the admin logs in
# with FSML_ADMIN_PASSWORD and finds fashion@production.
case_quickstart_twice() {
  expect_ok "$FSML" quickstart qs --epochs 1 --no-serve
  expect_contains "$T/out" "fashion@v1: 70,000 items"
  expect_contains "$T/out" "training cnn-small on fashion@v1 for 1 epoch"
  expect_contains "$T/out" "registered run 1 as fashion/1"
  expect_contains "$T/out" "fashion@production -> fashion/1"
  local acc
  acc=$(grep -oE "accuracy 0\.[0-9]+" "$T/out" | awk '{print $2}')
  /usr/bin/python3 -c "import sys; sys.exit(0 if float('${acc:-0}') > 0.7 else 1)" || fail "one epoch of cnn-small: accuracy '${acc}'"
  expect_ok "$FSML" quickstart qs --epochs 1 --no-serve
  expect_contains "$T/out" "nothing changed since fashion@v1; keeping it"
  expect_contains "$T/out" "was trained on fashion@v1 already (run 1); keeping it"
  expect_contains "$T/out" "evaluated on fashion@v1 test already"
  expect_contains "$T/out" "fashion/1 is fashion@production already"
  expect_ok fsml -w qs data log fashion --json
  expect_eq "$(jq_py "len(d)" < "$T/out")" 1 "versions after two quickstarts"
  expect_ok fsml -w qs runs list --json
  expect_eq "$(jq_py "len(d)" < "$T/out")" 1 "runs after two quickstarts"
  local port pid i
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  FSML_ADMIN_PASSWORD=quickstart-admin-1 "$FSML" quickstart qs --listen "127.0.0.1:$port" > "$T/serve.out" 2> "$T/serve.err" &
  pid=$!
  for ((i = 0; i < 600; i++)); do grep -q "listening on" "$T/serve.out" && break; sleep 0.1; done
  expect_contains "$T/serve.out" "Serving the web app at http://127.0.0.1:$port"
  expect_contains "$T/serve.out" "listening on http://127.0.0.1:$port"
  curl -sf "http://127.0.0.1:$port/" > "$T/index.html" || fail "GET / of the quickstart's server"
  expect_contains "$T/index.html" "<title>"
  curl -sf -c "$T/cookies" -H 'Content-Type: application/json' -d '{"name": "admin", "password": "quickstart-admin-1"}' \
    "http://127.0.0.1:$port/api/v1/auth/login" > /dev/null || fail "admin login on the quickstart's server"
  curl -sf -b "$T/cookies" "http://127.0.0.1:$port/api/v1/models" > "$T/models.json" || fail "GET /api/v1/models"
  expect_contains "$T/models.json" "production"
  kill -TERM "$pid"
  wait "$pid" || fail "the quickstart's server did not stop cleanly on SIGTERM"
}

case_name=${1:?usage: cli_test.sh CASE}
if ! declare -f "case_$case_name" > /dev/null; then echo "unknown case $case_name" >&2; exit 2; fi
"case_$case_name"
if ((FAILED)); then echo "e2e $case_name: FAILED"; exit 1; fi
echo "e2e $case_name: ok"
