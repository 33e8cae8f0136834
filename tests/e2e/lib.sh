# Shared by the training and model end-to-end tests: a temp folder per case,
# assertions, and a small synthetic, learnable image data set.
# Source it, define case_* functions, then call run_case "$@".
set -uo pipefail

FSML=${FSML_BIN:?FSML_BIN must point at the fsml binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
export FSML_USER=tester
FAILED=0

fail() { echo "FAIL: $*" >&2; FAILED=1; }
expect_ok() {
  if ! "$@" >"$T/out" 2>"$T/err"; then fail "expected success: $*"; cat "$T/out" "$T/err" >&2; fi
}
expect_fail() {
  local want=$1; shift
  if "$@" >"$T/out" 2>"$T/err"; then fail "expected failure: $*"; cat "$T/out" >&2; return; fi
  grep -qF -- "$want" "$T/err" || { fail "expected error containing '$want' from: $*"; cat "$T/err" >&2; }
}
expect_eq() { [[ "$1" == "$2" ]] || fail "${3:-value}: expected '$2', got '$1'"; }
py() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
fsml() { "$FSML" -q "$@"; }

# Three classes: bright rows (a), bright columns (b), a bright diagonal (c),
# 8x8 pixels with noise; <n> training and n/5 test items. With <flip> > 0,
# that fraction of the labels is replaced by another class and
# data/flipped.txt lists the training ones.
make_data() {
  local n=$1 flip=${2:-0}
  /usr/bin/python3 - "$n" "$flip" <<'PY'
import gzip, random, struct, sys
n = int(sys.argv[1]); flip = float(sys.argv[2]); rng = random.Random(11)
def image(cls):
    px = [rng.randrange(0, 90) for _ in range(64)]
    k = rng.randrange(8)
    for i in range(8):
        idx = {0: k * 8 + i, 1: i * 8 + k, 2: i * 8 + i}[cls]
        px[idx] = rng.randrange(170, 256)
    return bytes(px)
for prefix, count in (("train", n), ("t10k", n // 5)):
    imgs = bytearray(); labels = bytearray(); flipped = []
    for i in range(count):
        c = i % 3; imgs += image(c)
        if flip > 0 and rng.random() < flip:
            c = (c + rng.randrange(1, 3)) % 3; flipped.append(i)
        labels.append(c)
    with gzip.open(f"data/{prefix}-images-idx3-ubyte.gz", "wb") as f: f.write(struct.pack(">IIII", 0x803, count, 8, 8) + imgs)
    with gzip.open(f"data/{prefix}-labels-idx1-ubyte.gz", "wb") as f: f.write(struct.pack(">II", 0x801, count) + labels)
    if prefix == "train":
        with open("data/flipped.txt", "w") as f: f.write("".join(f"{i}\n" for i in flipped))
PY
}

# setup [N [FLIP]]: a workspace with project "toy" (labels a, b, c) at toy@v1.
setup() {
  fsml init . > /dev/null
  mkdir -p data && make_data "${1:-1500}" "${2:-0}"
  fsml import toy data --format idx --label-names a,b,c > /dev/null || fail "import"
  fsml data commit toy -m v1 > /dev/null || fail "commit"
}

run_case() {
  local name=${1:?usage: $0 CASE}
  declare -f "case_$name" > /dev/null || { echo "unknown case $name" >&2; exit 2; }
  "case_$name"
  if ((FAILED)); then echo "e2e $(basename "$0" .sh) $name: FAILED"; exit 1; fi
  echo "e2e $(basename "$0" .sh) $name: ok"
}
