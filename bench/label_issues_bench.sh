#!/usr/bin/env bash
# Label-issue detection quality: flip 5% of Fashion-MNIST's training labels on
# purpose (seeded, each to another random class), import the flipped data as
# a new project (idx files), train cnn-small, register it, run
# `fsml eval --split train --find-label-issues`, and measure precision and
# recall of the flagged items against the flips. In one run, on this machine.
#
#   bench/label_issues_bench.sh [--fsml PATH] [--threads N] [--epochs N] [--folds N] [--cv-epochs N]
#                               [--frac F] [--seed N] [--quick]
#
#   --threads N     threads for training and the evaluation (default: nproc)
#   --epochs N      epochs of the registered model (default 3)
#   --folds N       passed to --folds (default 5)
#   --cv-epochs N   passed to --cv-epochs: epochs per cross-validation model (default 3)
#   --frac F        share of training labels flipped (default 0.05)
#   --seed N        seed of the flips (default 0)
#   --quick         a smoke test: the first 6,000 training images, 1 epoch, 2 folds x 1 epoch
#                   (scratch bench/out/label_issues-quick)
#
# Writes bench/out/label_issues_bench.md and .json (label_issues_bench-quick.*
# with --quick). The scratch workspace, idx files and export stay in
# bench/out/label_issues/ and are reused while --frac, --seed and the size are
# the same (a new model is trained and evaluated every run).
set -euo pipefail
say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
cd "$(dirname "$0")/.."
FSML=build/src/fsml
THREADS=$(nproc)
EPOCHS=3
FOLDS=5
CV_EPOCHS=3
FRAC=0.05
SEED=0
QUICK=0
ARGS=("$@")
while (($#)); do
  case $1 in
    --fsml) FSML=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --folds) FOLDS=$2; shift 2 ;;
    --cv-epochs) CV_EPOCHS=$2; shift 2 ;;
    --frac) FRAC=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "label_issues_bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
N=0  # all 60,000 training images
if ((QUICK)); then
  # --quick sets its own small sizes unless given explicitly.
  N=6000
  [[ " ${ARGS[*]} " == *" --epochs "* ]] || EPOCHS=1
  [[ " ${ARGS[*]} " == *" --folds "* ]] || FOLDS=2
  [[ " ${ARGS[*]} " == *" --cv-epochs "* ]] || CV_EPOCHS=1
fi
for v in "$THREADS" "$EPOCHS" "$FOLDS" "$CV_EPOCHS"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "label_issues_bench: --threads, --epochs, --folds and --cv-epochs take positive integers" >&2; exit 2; }
done
[[ $SEED =~ ^[0-9]+$ ]] || { echo "label_issues_bench: --seed takes a non-negative integer" >&2; exit 2; }
[[ $FRAC =~ ^0?\.[0-9]+$ ]] || { echo "label_issues_bench: --frac takes a number in (0, 1), e.g. 0.05" >&2; exit 2; }
[[ -x $FSML ]] || { echo "label_issues_bench: no fsml binary at $FSML (scripts/setup.sh builds it, or pass --fsml PATH)" >&2; exit 2; }
FSML=$(realpath "$FSML")
PY=/usr/bin/python3
HELPER=bench/label_issues_helper.py
FASHION_DIR=/usr/share/datasets/fashion-mnist
[[ -f $FASHION_DIR/train-images-idx3-ubyte.gz ]] || { echo "label_issues_bench: $FASHION_DIR is missing (scripts/setup.sh installs dataset-fashion-mnist)" >&2; exit 2; }

if ((QUICK)); then NAME=label_issues-quick; RESULT=bench/out/label_issues_bench-quick; else NAME=label_issues; RESULT=bench/out/label_issues_bench; fi
OUT=bench/out/$NAME
WS=$OUT/ws
PROJECT=fmnoisy
fs() { "$FSML" -q -w "$WS" "$@"; }

# ------------------------------------------------------------ setup (untimed) ----
# .ready holds the data parameters of a complete setup; anything else starts over.
data_key="n=$N frac=$FRAC seed=$SEED"
if [[ ! -f $OUT/.ready || $(cat "$OUT/.ready") != "$data_key" ]]; then
  if [[ -e $OUT ]]; then say "removing the previous scratch folder $OUT"; fi
  rm -rf "$OUT"
  mkdir -p "$OUT"
  say "flipping $FRAC of the training labels (seed $SEED)$( ((N)) && echo ", first $N training images")"
  "$PY" "$HELPER" flip "$FASHION_DIR" "$OUT/idx" "$OUT/flips.npz" --frac "$FRAC" --seed "$SEED" --n "$N" > "$OUT/flip.json"
  "$FSML" -q init "$WS" > /dev/null
  say "importing the flipped idx files as project '$PROJECT', committing $PROJECT@v1"
  fs import "$PROJECT" "$OUT/idx" --format idx --label-names "$("$PY" "$HELPER" names)" --skip-duplicates > "$OUT/import.txt"
  fs data commit "$PROJECT" -m "Fashion-MNIST training set, $FRAC of the labels flipped (seed $SEED)" > /dev/null
  say "exporting $PROJECT@v1 as JSONL (to map item ids to idx images)"
  fs data export "$PROJECT@v1" "$OUT/export" --format jsonl > /dev/null
  echo "$data_key" > "$OUT/.ready"
fi

say "training cnn-small for $EPOCHS epoch(s), $THREADS threads"
fs train "$PROJECT@v1" --model cnn-small --epochs "$EPOCHS" --threads "$THREADS" --json > "$OUT/train.json"
run=$("$PY" -c "import json; print(json.load(open('$OUT/train.json'))['id'])")
fs models register "$run" --name "$PROJECT" --json > "$OUT/register.json"
ref=$("$PY" -c "import json; print(json.load(open('$OUT/register.json'))['ref'])")

# ------------------------------------------------------------------- timed ----
say "fsml eval $ref $PROJECT@v1 --split train --find-label-issues --folds $FOLDS --cv-epochs $CV_EPOCHS (timed)"
t0=$(date +%s%N)
fs eval "$ref" "$PROJECT@v1" --split train --find-label-issues --folds "$FOLDS" --cv-epochs "$CV_EPOCHS" \
  --threads "$THREADS" --json > "$OUT/eval.json" 2> "$OUT/eval.log"
t1=$(date +%s%N)
wall_ms=$(( (t1 - t0) / 1000000 ))
cv_line=$(grep -m1 'suspected in' "$OUT/eval.log" || true)
say "${cv_line:-label issues: (no summary line in $OUT/eval.log)}; process $wall_ms ms"

# ----------------------------------------------------------------- report ----
say "scoring the flagged items against the flips"
"$PY" "$HELPER" score "$OUT/flips.npz" "$OUT/export" "$OUT/eval.json" > "$OUT/score.json"
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
cmd="bench/label_issues_bench.sh${ARGS[*]:+ ${ARGS[*]}}"
"$PY" - "$OUT/score.json" "$RESULT" "$wall_ms" "$cv_line" "$ref" "$EPOCHS" "$FOLDS" "$CV_EPOCHS" "$THREADS" "$FRAC" \
  "$SEED" "$QUICK" "$cmd" "$load" "$cpu" "$("$FSML" --version)" "$OUT/train.json" "$(grep -m1 "^imported" "$OUT/import.txt" || true)" <<'PY'
import json, os, sys
(score, result, wall_ms, cv_line, ref, epochs, folds, cv_epochs, threads, frac, seed, quick, cmd, load, cpu,
 fsml_version, train_json, import_line) = sys.argv[1:]
s = json.load(open(score))
quick = quick == "1"
wall = int(wall_ms) / 1000
train = json.load(open(train_json))
T = 0.7
p_met, r_met = s["precision"] >= T, s["recall"] >= T

def yes(b):
    return "yes" if b else "no"

lines = ["## Label issues: 5% flipped Fashion-MNIST training labels, `fsml eval --find-label-issues`"
         + (" (--quick smoke test)" if quick else ""), ""]
if quick:
    lines += ["**--quick**: a smoke test of the script (the first 6,000 training images, a small model and a small "
              "cross-validation); not the benchmark's numbers, and the targets are not expected to be met.", ""]
lines += [f"{s['source_images']:,} training images, {s['flipped_in_source']:,} labels ({float(frac):.0%}) flipped to another "
          f"class (seed {seed}); model {ref}: cnn-small, {epochs} epoch(s) (val accuracy on the noisy labels "
          f"{train['epochs'][-1]['val_accuracy']:.4f}); `--folds {folds} --cv-epochs {cv_epochs}`, {threads} threads. "
          f"Scored over the `{s['split']}` split (the one evaluated).", ""]
lines += ["| method | items | flipped in split | flagged | true positives | precision | recall | wall s |",
          "|---|---|---|---|---|---|---|---|"]
lines += [f"| fsml confident learning (`--find-label-issues`) | {s['items']:,} | {s['flipped']:,} | {s['flagged']:,} | "
          f"{s['true_positives']:,} | {s['precision']:.4f} | {s['recall']:.4f} | {wall:.1f} |"]
lines += ["", f"Targets: precision >= {T} ({yes(p_met)}), recall >= {T} ({yes(r_met)})."]
lines += ["", f"- wall s: the whole `fsml eval ... --find-label-issues` process (the evaluation of {ref} on the split, "
          f"{folds} cross-validation models trained for {cv_epochs} epoch(s) each, their out-of-sample predictions, "
          "confident learning, storing the evaluation). fsml's own summary: " + (cv_line or "(none printed)") + "."]
lines += [f"- Baseline (flag items whose out-of-sample arg max differs from the given label): {s['baseline_note']}."]
lines += [f"- Matching: each exported item's decoded PNG pixels were matched to the idx image they came from; "
          f"{s['unmatched_items']} unmatched, {s['duplicate_images_in_source']} repeated images in the source, "
          f"{s['flagged_outside_split']} flagged items outside the split. Import: {import_line.strip()}"]
lines += ["", f"Machine: {cpu}, {os.cpu_count()} cores; load average at the end {load}; {fsml_version}.", "",
          f"Reproduce: {cmd}"]
md = "\n".join(lines) + "\n"
open(result + ".md", "w").write(md)
json.dump({"quick": quick, "model": ref, "epochs": int(epochs), "folds": int(folds), "cv_epochs": int(cv_epochs),
           "threads": int(threads), "frac": float(frac), "seed": int(seed), "wall_s": wall, "fsml_summary": cv_line,
           **s, "target": T, "precision_met": p_met, "recall_met": r_met,
           "machine": {"cpu": cpu, "load_end": load}, "fsml_version": fsml_version, "command": cmd},
          open(result + ".json", "w"), indent=2)
print(md, end="")
PY
say "wrote $RESULT.md and $RESULT.json"
