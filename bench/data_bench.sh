#!/usr/bin/env bash
# fsml data-layer benchmark, side by side with plain git (the first thing a
# DVC user pays for: `git add` + `git commit` of the data folder).
#
#   bench/data_bench.sh                      70k: Fashion-MNIST (steps 1-4 and 6)
#   bench/data_bench.sh --scale 1m           70k, then 1,000,000 synthetic items (step 5 + its git peer)
#
# Options:
#   --scale 70k|1m       1m adds the 1M-item section (minutes; several GB of scratch space)
#   --fsml PATH          fsml binary (default: build/src/fsml, from scripts/setup.sh)
#   --out DIR            results folder (default: bench/out; git-ignored)
#   --repeat N           fresh-workspace repetitions of the 70k pipeline; medians are reported (default 3)
#   --git-budget SECS    wall-clock budget for git's timed commands at 1M (default 600)
#   --no-git-1m          skip the git peer at 1M
#   --git-gc             also time `git gc` of the 70k repo (info only; slow where unlinks are slow)
#   --keep               keep the scratch workspaces/repos (bench/out/scratch) afterwards
#
# Every timing is wall-clock, measured here (date +%s%N around the command,
# or hyperfine for read-only commands), on this machine, in this run. Peak
# memory is /usr/bin/time -v's "Maximum resident set size".
# The table is printed at the end and saved as OUT/data_bench.md; every
# command's output is kept in OUT/logs/.
set -euo pipefail
say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCALE=70k
FSML=""
OUT="$REPO/bench/out"
REPEAT=3
GIT_BUDGET=600
GIT_1M=1
KEEP=0
GIT_GC=0
N1M=${FSML_BENCH_SYNTH_N:-1000000}     # items at "1m" scale; smaller only to smoke-test this script
SKIP_70K=${FSML_BENCH_SKIP_70K:-0}      # 1: 1m section only (to smoke-test this script)
ARGS=("$@")
while (($#)); do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --fsml) FSML=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --git-budget) GIT_BUDGET=$2; shift 2 ;;
    --no-git-1m) GIT_1M=0; shift ;;
    --keep) KEEP=1; shift ;;
    --git-gc) GIT_GC=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "data_bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$SCALE" in 70k|1m) ;; *) echo "data_bench: --scale must be 70k or 1m" >&2; exit 2 ;; esac
[[ "$N1M" =~ ^[1-9][0-9]{3,}$ ]] || { echo "data_bench: FSML_BENCH_SYNTH_N must be an integer >= 1000" >&2; exit 2; }
N1M_TXT=$(python3 -c "print(f'{$N1M:,}')")
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "data_bench: --repeat must be a positive integer" >&2; exit 2; }
if [[ -z "$FSML" ]]; then FSML="$REPO/build/src/fsml"; fi
[[ -x "$FSML" ]] || { echo "data_bench: no fsml binary at $FSML (run scripts/setup.sh, or pass --fsml PATH)" >&2; exit 2; }
FSML=$(cd "$(dirname "$FSML")" && pwd)/$(basename "$FSML")
for tool in git hyperfine python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "data_bench: '$tool' is required" >&2; exit 2; }
done
FASHION_DIR=/usr/share/datasets/fashion-mnist
[[ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ]] || { echo "data_bench: $FASHION_DIR is missing (scripts/setup.sh installs dataset-fashion-mnist)" >&2; exit 2; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK="$OUT/scratch"
LOGS="$OUT/logs"
if [[ -e "$WORK" ]]; then say "removing the previous scratch folder $WORK"; fi
rm -rf "$WORK" "$LOGS"
mkdir -p "$WORK" "$LOGS"
MD="$OUT/data_bench.md"
cleanup() {
  if [[ $KEEP == 0 && -d "$WORK" ]]; then
    say "removing the scratch folder $WORK (untimed; unlinks are slow on a disk mounted with 'discard'; --keep skips this)"
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# git as installed, with no user/system config in the way; auto-gc off so no
# background repack runs during (or after) the timed commands.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
git_init() {
  git -C "$1" init -q
  git -C "$1" config user.name "fsml bench"
  git -C "$1" config user.email "bench@example.invalid"
  git -C "$1" config gc.auto 0
  git -C "$1" config maintenance.auto false
}


# ---------------------------------------------------------------- helper ----
HELPER="$WORK/helper.py"
cat > "$HELPER" <<'PY'
import hashlib, json, os, random, shutil, statistics, struct, sys, zlib

def png_gray(w, h, pixels):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\x00" + pixels[y * w:(y + 1) * w] for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

def folder(label):  # fsml's LabelToFolderName
    return label.replace("%", "%25").replace("/", "%2F")

def edit_jsonl(export_dir, frac, new_n, seed):
    """70k: relabel frac of an exported version (fsml data export --format jsonl)
    and add new_n new 28x28 images; writes export_dir/v2-edit.jsonl."""
    rng = random.Random(seed)
    labels = json.load(open(os.path.join(export_dir, "version.json")))["labels"]
    rows = [json.loads(l) for l in open(os.path.join(export_dir, "data.jsonl"))]
    rows.sort(key=lambda r: r["id"])
    pick = rng.sample(rows, round(len(rows) * frac))
    os.makedirs(os.path.join(export_dir, "new"), exist_ok=True)
    with open(os.path.join(export_dir, "v2-edit.jsonl"), "w") as f:
        for r in pick:
            old = labels.index(r["label"])
            new = labels[(old + 1 + rng.randrange(len(labels) - 1)) % len(labels)]
            f.write(json.dumps({"image": r["image"], "label": new}) + "\n")
        for _ in range(new_n):
            data = png_gray(28, 28, rng.randbytes(28 * 28))
            name = hashlib.sha256(data).hexdigest() + ".png"
            open(os.path.join(export_dir, "new", name), "wb").write(data)
            f.write(json.dumps({"image": "new/" + name, "label": rng.choice(labels)}) + "\n")
    print(len(pick), new_n)

def write_idx(dirname, images, labels, n, side):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "train-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, side, side)); f.write(images)
    with open(os.path.join(dirname, "train-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n)); f.write(labels)

def gen_idx(dirname, n, side, nlabels, seed):
    """1M: n random side x side images (seeded) and labels 0..nlabels-1."""
    rng = random.Random(seed)
    images = rng.randbytes(n * side * side)
    labels = bytes(rng.randrange(nlabels) for _ in range(n))
    write_idx(dirname, images, labels, n, side)

def edit_idx(src, dst, newonly, frac, new_n, nlabels, seed):
    """1M: an idx pair holding frac of src's images with another label, plus
    new_n new images (fsml import relabels items it already has); newonly gets
    just the new images (to export their exact PNG bytes for the git side)."""
    rng = random.Random(seed)
    raw = open(os.path.join(src, "train-images-idx3-ubyte"), "rb").read()
    _, n, side, _ = struct.unpack(">IIII", raw[:16])
    px = side * side
    labels = open(os.path.join(src, "train-labels-idx1-ubyte"), "rb").read()[8:]
    pick = sorted(rng.sample(range(n), round(n * frac)))
    imgs, labs = [], bytearray()
    for i in pick:
        imgs.append(raw[16 + i * px:16 + (i + 1) * px])
        labs.append((labels[i] + 1 + rng.randrange(nlabels - 1)) % nlabels)
    new_imgs = [rng.randbytes(px) for _ in range(new_n)]
    new_labs = bytes(rng.randrange(nlabels) for _ in range(new_n))
    write_idx(dst, b"".join(imgs + new_imgs), bytes(labs) + new_labs, len(pick) + new_n, side)
    write_idx(newonly, b"".join(new_imgs), new_labs, new_n, side)
    print(len(pick), new_n)

def git_apply(diff_json, repo, newdir):
    """Applies an fsml diff (relabeled + added) to an imagefolder export:
    relabeled files move to their new label folder; added ones are copied in
    from newdir/<id>.png into <split>/<label>/."""
    d = json.load(open(diff_json))
    rel, add = d["samples"]["relabeled"], d["samples"]["added"]
    assert len(rel) == d["relabeled"] and len(add) == d["added"], "raise --limit"
    where = {}
    for root, dirs, files in os.walk(repo):
        if ".git" in dirs: dirs.remove(".git")
        for f in files: where[f] = root
    for r in rel:
        name = r["id"] + ".png"
        src_dir = where[name]
        split = os.path.relpath(src_dir, repo).split(os.sep)[0]
        assert os.path.basename(src_dir) == folder(r["from"]), (name, src_dir, r["from"])
        os.rename(os.path.join(src_dir, name), os.path.join(repo, split, folder(r["to"]), name))
    for a in add:
        name = a["id"] + ".png"
        shutil.copyfile(os.path.join(newdir, name), os.path.join(repo, a["split"], folder(a["label"]), name))
    print(len(rel), len(add))

def hf_mean(path):  # hyperfine --export-json -> "mean sd"
    r = json.load(open(path))["results"][0]
    print(r["mean"], r["stddev"] or 0)

def median(*xs):
    print(statistics.median(float(x) for x in xs))

cmd = sys.argv[1]
args = sys.argv[2:]
{"edit_jsonl": lambda: edit_jsonl(args[0], float(args[1]), int(args[2]), int(args[3])),
 "gen_idx": lambda: gen_idx(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4])),
 "edit_idx": lambda: edit_idx(args[0], args[1], args[2], float(args[3]), int(args[4]), int(args[5]), int(args[6])),
 "git_apply": lambda: git_apply(args[0], args[1], args[2]),
 "hf_mean": lambda: hf_mean(args[0]),
 "median": lambda: median(*args)}[cmd]()
PY
helper() { python3 "$HELPER" "$@"; }

# --------------------------------------------------------------- measure ----
# measure KEY CMD...: runs CMD once under /usr/bin/time -v; sets T[KEY] (s),
# RSS[KEY] (KiB), CPU[KEY] (user+sys s); stdout/stderr in LOGS/KEY.out/.err.
# Fails the run on error.
declare -A T RSS CPU
measure() {
  local key=$1; shift
  local t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$LOGS/$key.time" "$@" >"$LOGS/$key.out" 2>"$LOGS/$key.err" || rc=$?
  t1=$(date +%s%N)
  if ((rc != 0)); then
    echo "data_bench: '$*' failed (exit $rc):" >&2; tail -5 "$LOGS/$key.err" "$LOGS/$key.out" >&2; exit 1
  fi
  T[$key]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}')
  RSS[$key]=$(awk -F': ' '/Maximum resident set size/{print $2}' "$LOGS/$key.time")
  CPU[$key]=$(awk -F': ' '/User time|System time/{s += $2} END{printf "%.3f", s}' "$LOGS/$key.time")
}
# measure_timeout KEY SECS CMD...: like measure, but returns 124 instead of
# failing when CMD runs past SECS.
measure_timeout() {
  local key=$1 secs=$2; shift 2
  local t0 t1 rc=0
  t0=$(date +%s%N)
  timeout "$secs" /usr/bin/time -v -o "$LOGS/$key.time" "$@" >"$LOGS/$key.out" 2>"$LOGS/$key.err" || rc=$?
  t1=$(date +%s%N)
  T[$key]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}')
  if ((rc == 124)); then return 124; fi
  if ((rc != 0)); then
    echo "data_bench: '$*' failed (exit $rc):" >&2; tail -5 "$LOGS/$key.err" "$LOGS/$key.out" >&2; exit 1
  fi
  RSS[$key]=$(awk -F': ' '/Maximum resident set size/{print $2}' "$LOGS/$key.time")
  CPU[$key]=$(awk -F': ' '/User time|System time/{s += $2} END{printf "%.3f", s}' "$LOGS/$key.time")
}
# hf KEY RUNS CMD: hyperfine mean/sd of a read-only command (shell string).
hf() {
  local key=$1 runs=$2 cmd=$3 shell=${4:-none}
  if [[ $shell == none ]]; then
    hyperfine -N --warmup 2 --runs "$runs" --export-json "$LOGS/$key.hf.json" "$cmd" >"$LOGS/$key.hf.out" 2>&1
  else
    hyperfine --shell bash --warmup 2 --runs "$runs" --export-json "$LOGS/$key.hf.json" "$cmd" >"$LOGS/$key.hf.out" 2>&1
  fi
  read -r T[$key] T[$key.sd] < <(helper hf_mean "$LOGS/$key.hf.json")
}

# ------------------------------------------------------------ formatting ----
fmt_t() {  # seconds -> "123 ms" / "1.23 s"
  awk -v t="$1" 'BEGIN{ if (t < 1) printf "%.0f ms", t*1000; else if (t < 10) printf "%.2f s", t; else printf "%.1f s", t }'
}
fmt_sd() { awk -v t="$1" -v s="$2" 'BEGIN{ if (t < 1) printf "%.1f ± %.1f ms", t*1000, s*1000; else printf "%.3f ± %.3f s", t, s }'; }
fmt_mb() { awk -v k="$1" 'BEGIN{ printf "%.0f MiB", k/1024 }'; }
ratio() { awk -v g="$1" -v f="$2" 'BEGIN{ if (f <= 0) print "-"; else { r = g/f; if (r >= 10) printf "%.0fx", r; else printf "%.1fx", r } }'; }
met() {  # value target -> "yes" / "**NO**"
  awk -v t="$1" -v x="$2" 'BEGIN{ if (t < x) print "yes"; else print "**NO** (missed)" }'
}
med() { helper median "$@"; }

ENV_LINE="$(nproc) cores ($(lscpu 2>/dev/null | awk -F': *' '/Model name/{print $2; exit}')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(df -T "$WORK" | awk 'NR==2{print $2}') scratch fs ($(findmnt -no OPTIONS -T "$WORK" 2>/dev/null | cut -c1-60)); $("$FSML" --version 2>/dev/null | head -1); $(git --version)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
REPRO="bench/data_bench.sh ${ARGS[*]:-}"
say "fsml: $FSML"
say "scratch: $WORK (load average $LOAD_START)"

# fsml_ws WS ARGS...: fsml -q -w WS ARGS...
fsml_ws() { local ws=$1; shift; "$FSML" -q -w "$ws" "$@"; }

# =============================================================== 70k ========
run_70k() {
  local W="$WORK/70k"
  mkdir -p "$W"
  local r
  for ((r = 1; r <= REPEAT; r++)); do
    local WS="$W/ws$r"
    say "70k run $r/$REPEAT: fsml import fashion --format fashion-mnist"
    "$FSML" init "$WS" >/dev/null
    measure "70k.import.$r" "$FSML" -q -w "$WS" import fashion --format fashion-mnist
    measure "70k.commit.$r" "$FSML" -q -w "$WS" data commit fashion -m "v1: Fashion-MNIST"
    if ((r == 1)); then
      # The v2 edit: export v1 as JSONL, relabel 1% and add 100 new images.
      say "70k: export fashion@v1 --format jsonl, edit 1% of labels, add 100 new images"
      measure 70k.export_jsonl "$FSML" -q -w "$WS" data export fashion@v1 "$W/v1-jsonl" --format jsonl
      read -r N_REL N_NEW < <(helper edit_jsonl "$W/v1-jsonl" 0.01 100 1)
    fi
    say "70k run $r/$REPEAT: import the edit, commit v2"
    measure "70k.import2.$r" "$FSML" -q -w "$WS" import fashion "$W/v1-jsonl/v2-edit.jsonl"
    measure "70k.commit2.$r" "$FSML" -q -w "$WS" data commit fashion -m "v2: 1% relabeled, 100 new"
  done
  local WS="$W/ws1"
  grep -h "relabeled" "$LOGS/70k.import2.1.out" >"$LOGS/70k.import2.summary" || true
  measure 70k.diff "$FSML" -w "$WS" data diff fashion@v1 fashion@v2
  DIFF70=$(head -1 "$LOGS/70k.diff.out")
  say "70k: $DIFF70"
  hf 70k.diff.hf 20 "$FSML -w $WS data diff fashion@v1 fashion@v2"
  measure 70k.log "$FSML" -w "$WS" data log fashion
  hf 70k.log.hf 50 "$FSML -w $WS data log fashion"
  "$FSML" -w "$WS" data diff fashion@v1 fashion@v2 --json --limit 1000000 >"$W/diff.json"

  # ---- the peer: plain git on the exported image folder ----
  say "70k: export fashion@v1 --format imagefolder (the git peer's input)"
  measure 70k.export_if "$FSML" -q -w "$WS" data export fashion@v1 "$W/if-v1" --format imagefolder
  NFILES70=$(find "$W/if-v1" -name '*.png' | wc -l)
  for ((r = 1; r <= REPEAT; r++)); do
    local G="$W/git$r"
    rm -rf "$G"; cp -al "$W/if-v1" "$G"  # hard links: untimed, files stay in the page cache
    git_init "$G"
    say "70k run $r/$REPEAT: git add -A + git commit ($NFILES70 files)"
    measure "70k.gitadd.$r" git -C "$G" add -A
    measure "70k.gitcommit.$r" git -C "$G" commit -q -m v1
    read -r GIT_REL GIT_NEW < <(helper git_apply "$W/diff.json" "$G" "$W/v1-jsonl/new")
    measure "70k.gitadd2.$r" git -C "$G" add -A
    measure "70k.gitcommit2.$r" git -C "$G" commit -q -m v2
  done
  local G="$W/git1"
  measure 70k.gitdiff bash -c "git -C '$G' diff --stat HEAD~1 HEAD | tail -1"
  GITDIFF70=$(tail -1 "$LOGS/70k.gitdiff.out" | sed 's/^ *//')
  hf 70k.gitdiff.hf 10 "git -C '$G' diff --stat HEAD~1 HEAD | tail -1" bash
  hf 70k.gitlog.hf 50 "git -C $G log --oneline"
  GITSIZE70=$(du -sh "$G/.git" | cut -f1)
  if ((GIT_GC)); then measure 70k.gitgc git -C "$G" gc -q; GITSIZE70="$GITSIZE70 loose, $(du -sh "$G/.git" | cut -f1) after git gc"; fi

  # medians over the repetitions (time and CPU); peak RSS from run 1
  local k r2 ts cs
  for k in import commit import2 commit2 gitadd gitcommit gitadd2 gitcommit2; do
    ts=(); cs=()
    for ((r2 = 1; r2 <= REPEAT; r2++)); do ts+=("${T[70k.$k.$r2]}"); cs+=("${CPU[70k.$k.$r2]}"); done
    T[70k.$k]=$(med "${ts[@]}"); CPU[70k.$k]=$(med "${cs[@]}"); RSS[70k.$k]=${RSS[70k.$k.1]}
  done
  RANGE_IMPORT=$(for ((r2 = 1; r2 <= REPEAT; r2++)); do echo "${T[70k.import.$r2]}"; done | sort -g | awk 'NR==1{a=$1} {b=$1} END{printf "%.2f-%.2f s", a, b}')
  RANGE_GITADD=$(for ((r2 = 1; r2 <= REPEAT; r2++)); do echo "${T[70k.gitadd.$r2]}"; done | sort -g | awk 'NR==1{a=$1} {b=$1} END{printf "%.2f-%.2f s", a, b}')
  T[70k.v1]=$(awk -v a="${T[70k.import]}" -v b="${T[70k.commit]}" 'BEGIN{print a+b}')
  T[70k.gitv1]=$(awk -v a="${T[70k.gitadd]}" -v b="${T[70k.gitcommit]}" 'BEGIN{print a+b}')
  CPU[70k.v1]=$(awk -v a="${CPU[70k.import]}" -v b="${CPU[70k.commit]}" 'BEGIN{print a+b}')
  CPU[70k.gitv1]=$(awk -v a="${CPU[70k.gitadd]}" -v b="${CPU[70k.gitcommit]}" 'BEGIN{print a+b}')
  WSSIZE70=$(du -sh "$WS/.fsml" | cut -f1)
}

# mdrow STEP FSML_KEY GIT_KEY TARGET_S TARGET_TEXT: one table row. A key K is
# a single measurement (T[K], CPU[K], RSS[K]); "K.hf" uses hyperfine's mean
# ± sd for the time and the single run K for CPU and RSS. An empty GIT_KEY
# leaves git's cells empty; "!text" puts text in them (e.g. skipped (why)).
cell_t() { if [[ $1 == *.hf ]]; then fmt_sd "${T[$1]}" "${T[$1.sd]}"; else fmt_t "${T[$1]}"; fi; }
cell_cpu() { local k=${1%.hf}; if [[ -n "${CPU[$k]:-}" ]]; then awk -v c="${CPU[$k]}" 'BEGIN{ if (c < 0.01) printf "<10 ms"; else if (c < 1) printf "%.0f ms", c*1000; else printf "%.2f s", c }'; fi; }
cell_rss() { local k=${1%.hf}; if [[ -n "${RSS[$k]:-}" ]]; then fmt_mb "${RSS[$k]}"; fi; }
mdrow() {
  local step=$1 f=$2 g=$3 target=$4 target_text=$5
  local gt="" gr="" gc="" gm="" ok=""
  if [[ $g == '!'* ]]; then gt=${g#!}
  elif [[ -n $g && -n "${T[$g]:-}" ]]; then
    gt=$(cell_t "$g"); gr=$(ratio "${T[$g]}" "${T[$f]}"); gc=$(cell_cpu "$g"); gm=$(cell_rss "$g")
  fi
  if [[ -n $target ]]; then ok=$(met "${T[$f]}" "$target"); fi
  local fc fm
  fc=$(cell_cpu "$f"); fm=$(cell_rss "$f")
  echo "| $step | $(cell_t "$f") | $gt | $gr | $target_text | $ok | ${fc:--} / ${gc:--} | ${fm:--} / ${gm:--} |"
}
TABLE_HEAD='| Step | fsml | git (peer) | git/fsml | fsml target | met? | CPU user+sys fsml / git | peak RSS fsml / git |
|---|---|---|---|---|---|---|---|'

table_70k() {
  cat <<EOF
### 70k: Fashion-MNIST (70,000 items), fsml vs plain git

$TABLE_HEAD
$(mdrow '1. import 70k: `fsml import fashion --format fashion-mnist` (gunzip + decode idx, encode 70k PNGs, SHA-256 them, store objects, record items and labels; fsync) vs `git add -A` of the 70k exported PNGs (SHA-1 + zlib each into a loose object, write the index; no fsync)' 70k.import 70k.gitadd 10 '< 10 s')
$(mdrow '2. commit v1: `fsml data commit fashion` vs `git commit` (trees + commit)' 70k.commit 70k.gitcommit 1 '< 1 s')
$(mdrow '1+2. v1 total: import + commit vs add + commit' 70k.v1 70k.gitv1 '' '')
$(mdrow "3a. v2 edit: import ${N_REL} relabels + ${N_NEW} new images (JSONL) vs \`git add -A\` after the same ${N_REL} moves + ${N_NEW} new files" 70k.import2 70k.gitadd2 '' '')
$(mdrow '3b. commit v2' 70k.commit2 70k.gitcommit2 1 '< 1 s')
$(mdrow '3c. diff: `fsml data diff fashion@v1 fashion@v2` vs `git diff --stat HEAD~1 HEAD \| tail -1` (hyperfine)' 70k.diff.hf 70k.gitdiff.hf 0.2 '< 0.2 s')
$(mdrow '4. `fsml data log fashion` vs `git log --oneline` (hyperfine)' 70k.log.hf 70k.gitlog.hf 0.05 '< 50 ms')

- Import, commit, git add, git commit: median of $REPEAT run(s), each in a fresh workspace / fresh repo (fsml import ${RANGE_IMPORT}; git add ${RANGE_GITADD}); totals add the medians; CPU is the median too, peak RSS is run 1's. Diff and log: hyperfine mean ± sd (fsml diff 20 runs, git diff 10, logs 50; 2 warm-ups each); their CPU and RSS are from one extra run.
- fsml diff printed: \`$DIFF70\` (expected: $N_NEW added, 0 removed, $N_REL relabeled). git printed: \`$GITDIFF70\`.
- fsml import of the edit printed: \`$(cat "$LOGS/70k.import2.summary")\`.
- Untimed setup, for scale: \`fsml data export fashion@v1 --format jsonl\` $(fmt_t "${T[70k.export_jsonl]}"), \`--format imagefolder\` ($NFILES70 PNG files) $(fmt_t "${T[70k.export_if]}"). Not in git's numbers: the \`git gc --auto\` that git would start in the background after these commits (disabled here)$( ((GIT_GC)) && printf '; `git gc` timed on its own: %s' "$(fmt_t "${T[70k.gitgc]}")").
- Storage after v2: fsml .fsml $WSSIZE70; git .git $GITSIZE70.
EOF
}

# ================================================================ 1M ========
run_1m() {
  local W="$WORK/1m"
  local WS="$W/ws"
  local LABELS=c0,c1,c2,c3,c4,c5,c6,c7,c8,c9
  mkdir -p "$W"
  say "1M: generating $N1M_TXT random 8x8 images + labels (idx, seed 42)"
  measure 1m.gen python3 "$HELPER" gen_idx "$W/idx" "$N1M" 8 10 42
  "$FSML" init "$WS" >/dev/null
  say "1M: fsml import synth --format idx"
  measure 1m.import "$FSML" -q -w "$WS" import synth "$W/idx" --format idx --label-names "$LABELS"
  say "1M: fsml data commit"
  measure 1m.commit "$FSML" -q -w "$WS" data commit synth -m "v1: 1M synthetic"
  say "1M: edit: an idx pair with 1% of the images under another label + 1,000 new images"
  read -r N_REL1M N_NEW1M < <(helper edit_idx "$W/idx" "$W/edit" "$W/newonly" 0.01 "$(( N1M / 1000 ))" 10 7)
  measure 1m.import2 "$FSML" -q -w "$WS" import synth "$W/edit" --format idx --label-names "$LABELS"
  IMPORT2_1M=$(grep -h "relabeled" "$LOGS/1m.import2.out" || true)
  measure 1m.commit2 "$FSML" -q -w "$WS" data commit synth -m "v2: 1% relabeled, 1000 new"
  measure 1m.diff "$FSML" -w "$WS" data diff synth@v1 synth@v2
  DIFF1M=$(head -1 "$LOGS/1m.diff.out")
  say "1M: $DIFF1M"
  hf 1m.diff.hf 5 "$FSML -w $WS data diff synth@v1 synth@v2"
  measure 1m.log "$FSML" -w "$WS" data log synth
  hf 1m.log.hf 30 "$FSML -w $WS data log synth"
  WSSIZE1M=$(du -sh "$WS/.fsml" | cut -f1)

  GIT1M_NOTE=""
  if ((GIT_1M == 0)); then GIT1M_NOTE="skipped (--no-git-1m)"; return; fi
  "$FSML" -w "$WS" data diff synth@v1 synth@v2 --json --limit 100000000 >"$W/diff.json"
  # Exact PNG bytes of the new items, for the git side: a throwaway workspace.
  "$FSML" init "$W/ws-new" >/dev/null
  fsml_ws "$W/ws-new" import synth "$W/newonly" --format idx --label-names "$LABELS" >/dev/null
  fsml_ws "$W/ws-new" data commit synth -m new >/dev/null
  fsml_ws "$W/ws-new" data export synth@v1 "$W/newonly-export" --format jsonl >/dev/null
  say "1M: export synth@v1 --format imagefolder ($N1M_TXT files; the git peer's input)"
  measure 1m.export_if "$FSML" -q -w "$WS" data export synth@v1 "$W/git" --format imagefolder
  local G="$W/git"
  git_init "$G"
  local deadline=$(( $(date +%s) + GIT_BUDGET ))
  left() { echo $(( deadline - $(date +%s) > 1 ? deadline - $(date +%s) : 1 )); }
  say "1M: git add -A (budget ${GIT_BUDGET}s for git's timed commands)"
  if ! measure_timeout 1m.gitadd "$(left)" git -C "$G" add -A; then
    GIT1M_NOTE="skipped (git add -A of $N1M_TXT files did not finish within the ${GIT_BUDGET} s budget; killed after $(fmt_t "${T[1m.gitadd]}"))"; return
  fi
  say "1M: git commit"
  if ! measure_timeout 1m.gitcommit "$(left)" git -C "$G" commit -q -m v1; then
    GIT1M_NOTE="skipped (git commit of $N1M_TXT files did not finish within the ${GIT_BUDGET} s budget)"; return
  fi
  helper git_apply "$W/diff.json" "$G" "$W/newonly-export/items" >/dev/null
  say "1M: git add -A + commit of v2"
  if ! measure_timeout 1m.gitadd2 "$(left)" git -C "$G" add -A; then
    GIT1M_NOTE="skipped v2 (git add -A did not finish within the ${GIT_BUDGET} s budget)"; return
  fi
  if ! measure_timeout 1m.gitcommit2 "$(left)" git -C "$G" commit -q -m v2; then
    GIT1M_NOTE="skipped v2 (git commit did not finish within the ${GIT_BUDGET} s budget)"; return
  fi
  if ! measure_timeout 1m.gitdiff "$(left)" bash -c "git -C '$G' diff --stat HEAD~1 HEAD | tail -1"; then
    GIT1M_NOTE="skipped diff (git diff did not finish within the ${GIT_BUDGET} s budget)"; return
  fi
  GITDIFF1M=$(tail -1 "$LOGS/1m.gitdiff.out" | sed 's/^ *//')
  hf 1m.gitdiff.hf 3 "git -C '$G' diff --stat HEAD~1 HEAD | tail -1" bash
  GITSIZE1M=$(du -sh "$G/.git" | cut -f1)
}

table_1m() {
  local skip=""
  if [[ -n "${GIT1M_NOTE:-}" ]]; then skip="!${GIT1M_NOTE}"; fi
  gk() { if [[ -n "${T[$1]:-}" && -n "${RSS[${1%.hf}]:-}" ]]; then echo "$1"; else echo "${skip:-!-}"; fi; }
  cat <<EOF

### 1M: $N1M_TXT synthetic 8x8 images (10 labels), fsml vs plain git

$TABLE_HEAD
$(mdrow "5a. import $N1M_TXT: \`fsml import synth DIR --format idx --label-names ...\` (decode idx, encode PNGs, SHA-256, store, record) vs \`git add -A\` of the $N1M_TXT exported PNGs" 1m.import "$(gk 1m.gitadd)" '' '')
$(mdrow '5b. commit v1' 1m.commit "$(gk 1m.gitcommit)" 5 '< 5 s')
$(mdrow "5c. v2 edit: import an idx pair of $N_REL1M relabels + $N_NEW1M new vs \`git add -A\` after the same moves/adds" 1m.import2 "$(gk 1m.gitadd2)" '' '')
$(mdrow '5d. commit v2' 1m.commit2 "$(gk 1m.gitcommit2)" 5 '< 5 s')
$(mdrow '5e. diff v1 v2 (hyperfine: fsml 5 runs, git 3)' 1m.diff.hf "$(gk 1m.gitdiff.hf)" 2 '< 2 s')
$(mdrow '`fsml data log synth` (hyperfine)' 1m.log.hf '' 0.05 '< 50 ms')

- Single run each for import, commit, git add, git commit.
- fsml import of the edit printed: \`${IMPORT2_1M}\`.
- fsml diff printed: \`$DIFF1M\` (expected: $N_NEW1M added, 0 removed, $N_REL1M relabeled).$( [[ -n "${GITDIFF1M:-}" ]] && printf ' git printed: `%s`.' "$GITDIFF1M")
- Untimed setup: generating the idx pair $(fmt_t "${T[1m.gen]}")$( [[ -n "${T[1m.export_if]:-}" ]] && printf '; `fsml data export synth@v1 --format imagefolder` (%s PNG files) %s' "$N1M_TXT" "$(fmt_t "${T[1m.export_if]}")").
- Storage after v2: fsml .fsml $WSSIZE1M$( [[ -n "${GITSIZE1M:-}" ]] && printf '; git .git %s (loose objects, no gc)' "$GITSIZE1M").
EOF
}

# ================================================================= run =====
if [[ $SKIP_70K == 0 ]]; then run_70k; fi
if [[ $SCALE == 1m ]]; then run_1m; fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "## fsml data-layer benchmark ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $ENV_LINE. Load average at start $LOAD_START, at end $LOAD_END."
  echo "fsml binary: \`$FSML\`. Reproduce: \`$REPRO\`."
  echo
  if [[ $SKIP_70K == 0 ]]; then table_70k; fi
  if [[ $SCALE == 1m ]]; then table_1m; fi
} >"$MD"
cat "$MD"
say "saved $MD; logs in $LOGS"
