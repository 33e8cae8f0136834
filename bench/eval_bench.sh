#!/usr/bin/env bash
# Evaluation speed, side by side: `fsml eval` of a cnn-small model over
# Fashion-MNIST's 10,000 test images, and the same evaluation by a plain
# Python script (bench/eval_peer.py: Debian's python3-torch + torchvision +
# python3-sklearn) that loads the same model from `fsml models export`, reads
# the same test images as PNG files from `fsml data export --format
# imagefolder` (ImageFolder + DataLoader, PIL decode), uses the same thread
# count and batch size (512), and computes the same metrics. In one run, on
# this machine.
#
#   bench/eval_bench.sh [--fsml PATH] [--threads N] [--epochs N] [--repeat N] [--quick]
#
#   --threads N   threads for training, `fsml eval` and torch.set_num_threads (default: nproc)
#   --epochs N    epochs of the model that is evaluated (default 1: a timing
#                 benchmark; the model's accuracy is not what is measured)
#   --repeat N    timed repetitions of each evaluator; medians are reported (default 3)
#   --quick       a smoke test: train on the first 6,000 training images and
#                 evaluate the first 2,000 test images (scratch bench/out/eval-quick)
#
# Writes bench/out/eval_bench.md and .json (eval_bench-quick.* with --quick).
# The scratch workspace and exports stay in bench/out/eval/ and are reused by
# the next run (a new model is trained and registered every run).
set -euo pipefail
say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
cd "$(dirname "$0")/.."
FSML=build/src/fsml
THREADS=$(nproc)
EPOCHS=1
REPEAT=3
QUICK=0
WORKERS=(0 2)
ARGS=("$@")
while (($#)); do
  case $1 in
    --fsml) FSML=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "eval_bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$THREADS" "$EPOCHS" "$REPEAT"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "eval_bench: --threads, --epochs and --repeat take positive integers" >&2; exit 2; }
done
[[ -x $FSML ]] || { echo "eval_bench: no fsml binary at $FSML (scripts/setup.sh builds it, or pass --fsml PATH)" >&2; exit 2; }
FSML=$(realpath "$FSML")
PY=/usr/bin/python3
FASHION_DIR=/usr/share/datasets/fashion-mnist
[[ -f $FASHION_DIR/t10k-images-idx3-ubyte.gz ]] || { echo "eval_bench: $FASHION_DIR is missing (scripts/setup.sh installs dataset-fashion-mnist)" >&2; exit 2; }

if ((QUICK)); then NAME=eval-quick; RESULT=bench/out/eval_bench-quick; else NAME="eval"; RESULT=bench/out/eval_bench; fi
OUT=bench/out/$NAME
WS=$OUT/ws
fs() { "$FSML" -q -w "$WS" "$@"; }

# ------------------------------------------------------------ setup (untimed) ----
# The workspace (fashion@v1) and its imagefolder export are made once and
# reused; .ready marks a complete setup.
if [[ ! -f $OUT/.ready ]]; then
  rm -rf "$OUT"
  mkdir -p "$OUT"
  if ((QUICK)); then
    say "quick: idx files with the first 6,000 training and 2,000 test images of Fashion-MNIST"
    "$PY" "$(dirname "${BASH_SOURCE[0]}")/fashion_subset.py" "$FASHION_DIR" "$OUT/idx"
    "$FSML" -q init "$WS" > /dev/null
    fs import fashion "$OUT/idx" --format fashion-mnist > /dev/null
    fs data commit fashion -m "Fashion-MNIST subset (eval_bench --quick)" > /dev/null
  else
    say "workspace: fsml quickstart (import Fashion-MNIST, commit fashion@v1)"
    "$FSML" -q quickstart "$WS" > /dev/null
  fi
  say "exporting fashion@v1 as an image folder (the peer's PNGs)"
  fs data export fashion@v1 "$OUT/export" --format imagefolder > /dev/null
  touch "$OUT/.ready"
fi
n_test=$(find "$OUT/export/test" -name '*.png' | wc -l)

say "training cnn-small for $EPOCHS epoch(s), $THREADS threads (the model to evaluate)"
fs train fashion@v1 --model cnn-small --epochs "$EPOCHS" --threads "$THREADS" --json > "$OUT/train.json"
run=$("$PY" -c "import json; print(json.load(open('$OUT/train.json'))['id'])")
fs models register "$run" --name fashion --json > "$OUT/register.json"
ref=$("$PY" -c "import json; print(json.load(open('$OUT/register.json'))['ref'])")
rm -rf "$OUT/model"
fs models export "$ref" "$OUT/model" > /dev/null
say "model $ref (run $run); $n_test test images; $REPEAT timed repetitions of each evaluator after one warm-up"

# ------------------------------------------------------------------- timed ----
rm -rf "$OUT/runs"
mkdir -p "$OUT/runs"
TIMES=$OUT/runs/times.tsv
: > "$TIMES"
fsml_eval() { fs eval "$ref" fashion@v1 --split test --threads "$THREADS" --json > "$1"; }
peer_eval() {
  "$PY" bench/eval_peer.py --model "$OUT/model" --data "$OUT/export/test" --threads "$THREADS" --workers "$1" \
    --batch-size 512 > "$2"
}
ms() { echo $(( ($2 - $1) / 1000000 )); }
# Warm-up (untimed): page cache, Python's bytecode cache, the libraries.
fsml_eval "$OUT/runs/warmup-fsml.json"
for w in "${WORKERS[@]}"; do peer_eval "$w" "$OUT/runs/warmup-peer-$w.json"; done
for ((r = 1; r <= REPEAT; r++)); do
  t0=$(date +%s%N); fsml_eval "$OUT/runs/fsml-$r.json"; t1=$(date +%s%N)
  printf 'fsml\t%d\t%s\t%s\n' "$r" "$(ms "$t0" "$t1")" "$OUT/runs/fsml-$r.json" >> "$TIMES"
  say "rep $r: fsml eval $(ms "$t0" "$t1") ms"
  for w in "${WORKERS[@]}"; do
    t0=$(date +%s%N); peer_eval "$w" "$OUT/runs/peer-$w-$r.json"; t1=$(date +%s%N)
    printf 'peer-%s\t%d\t%s\t%s\n' "$w" "$r" "$(ms "$t0" "$t1")" "$OUT/runs/peer-$w-$r.json" >> "$TIMES"
    say "rep $r: peer (num_workers=$w) $(ms "$t0" "$t1") ms"
  done
done

# ----------------------------------------------------------------- report ----
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
blas=$("$PY" -c "import json; print(json.load(open('$OUT/train.json'))['log'].split(', ')[2])")
cmd="bench/eval_bench.sh${ARGS[*]:+ ${ARGS[*]}}"
"$PY" - "$TIMES" "$RESULT" "$n_test" "$THREADS" "$EPOCHS" "$REPEAT" "$QUICK" "$ref" "$cmd" "$load" "$cpu" "$blas" \
  "$("$FSML" --version)" "$OUT/train.json" <<'PY'
import json, statistics, sys
(times, result, n_test, threads, epochs, repeat, quick, ref, cmd, load, cpu, blas, fsml_version, train_json) = sys.argv[1:]
n_test, threads, epochs, repeat, quick = int(n_test), int(threads), int(epochs), int(repeat), quick == "1"
runs = {}
for line in open(times):
    tool, rep, ms, path = line.rstrip("\n").split("\t")
    runs.setdefault(tool, []).append({"rep": int(rep), "wall_s": int(ms) / 1000, "json": json.load(open(path))})
med = statistics.median

def f(x, d=2):
    return f"{x:,.{d}f}"

fsml = runs["fsml"]
f_wall = med(r["wall_s"] for r in fsml)
f_span = med(r["json"]["seconds"] for r in fsml)
fm = fsml[0]["json"]["metrics"]
KEYS = ["accuracy", "macro_f1", "weighted_f1", "top3", "top5", "log_loss", "ece"]

def flat(m):
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "weighted_f1": m["weighted_f1"],
            "top3": m["top_k"]["3"], "top5": m["top_k"]["5"], "log_loss": m["log_loss"], "ece": m["ece"]}

rows, peers = [], {}
rows.append(f"| fsml eval ({blas}) | {f(f_wall)} | {f(n_test / f_wall, 0)} | 1.00 | {f(f_span)} | {f(n_test / f_span, 0)} | 1.00 | {fm['accuracy']:.4f} |")
for tool in sorted(t for t in runs if t.startswith("peer-")):
    rs = runs[tool]
    w = tool.split("-")[1]
    p_wall = med(r["wall_s"] for r in rs)
    p_work = med(r["json"]["seconds"]["work"] for r in rs)
    p_span = med(r["json"]["seconds"]["predict"] for r in rs)
    p_imports = med(r["json"]["seconds"]["imports"] for r in rs)
    pm = rs[0]["json"]["metrics"]
    diff = max(abs(flat(pm)[k] - flat(fm)[k]) for k in KEYS)
    same_confusion = pm["confusion"] == fm["confusion"]
    peers[tool] = {"workers": int(w), "wall_s": p_wall, "after_imports_s": p_work, "imports_s": p_imports,
                   "startup_s": p_wall - p_work, "span_s": p_span, "speedup_wall": p_wall / f_wall,
                   "speedup_span": p_span / f_span, "accuracy": pm["accuracy"], "max_metric_diff": diff,
                   "same_confusion": same_confusion, "torch": rs[0]["json"]["torch"], "sklearn": rs[0]["json"]["sklearn"],
                   "walls_s": [r["wall_s"] for r in rs]}
    rows.append(f"| PyTorch {rs[0]['json']['torch']} + sklearn {rs[0]['json']['sklearn']}, DataLoader num_workers={w} "
                f"| {f(p_wall)} | {f(n_test / p_wall, 0)} | {p_wall / f_wall:.2f} | {f(p_span)} | {f(n_test / p_span, 0)} "
                f"| {p_span / f_span:.2f} | {pm['accuracy']:.4f} |")

best = min(peers.values(), key=lambda p: p["wall_s"])
met = best["speedup_wall"] >= 1.5
train = json.load(open(train_json))
lines = []
title = "## Evaluation speed: `fsml eval` vs PyTorch + scikit-learn" + (" (--quick smoke test)" if quick else "")
lines += [title, ""]
if quick:
    lines += ["**--quick**: a smoke test of the script (model trained on the first 6,000 training images, "
              "evaluated on the first 2,000 test images); not the benchmark's numbers.", ""]
lines += [f"cnn-small ({ref}, trained for {epochs} epoch(s): one is enough for a timing benchmark; the accuracy is not what is "
          f"measured), {n_test:,} test images, batch 512, {threads} threads, median of {repeat} runs each after one warm-up.", ""]
lines += ["| evaluator | process wall s | images/s (wall) | fsml speed-up (wall) | evaluation span s | images/s (span) | fsml speed-up (span) | accuracy |",
          "|---|---|---|---|---|---|---|---|"]
lines += rows
lines += [""]
lines += ["- **process wall**: the whole process, timed from outside (`date +%s%N`): for fsml the `fsml eval` command "
          "(open the workspace, load LibTorch and the model, evaluate, store the evaluation and its predictions, print JSON); "
          "for the peer `python3 bench/eval_peer.py` (interpreter start-up, imports of numpy/torch/torchvision/PIL/sklearn, "
          "load the exported model, evaluate, print JSON)."]
lines += ["- **evaluation span**: read + decode the images, inference, metrics; fsml's own `seconds` in the eval JSON "
          "(EvaluateSplit: from opening the loader to the metrics), the peer's time after its model is loaded. Neither "
          "includes process start-up or model loading."]
for tool, p in sorted(peers.items()):
    lines += [f"- peer num_workers={p['workers']}: start-up before its first own statement + imports "
              f"{f(p['startup_s'])} s of its {f(p['wall_s'])} s (imports alone {f(p['imports_s'])} s); "
              f"after the imports {f(p['after_imports_s'])} s ({f(n_test / p['after_imports_s'], 0)} images/s). "
              f"Runs: {', '.join(f(x) for x in p['walls_s'])} s."]
lines += [f"- fsml runs: {', '.join(f(r['wall_s']) for r in fsml)} s (span {', '.join(f(r['json']['seconds']) for r in fsml)} s)."]
lines += [f"- speed-up = peer seconds / fsml seconds (above 1: fsml is faster). Target: >= 1.5 on process wall against the "
          f"faster peer: {best['speedup_wall']:.3f} ({'met' if met else 'not met'})."]
agree = all(p["max_metric_diff"] <= 1e-4 and p["same_confusion"] for p in peers.values())
lines += [f"- Same results: fsml accuracy {fm['accuracy']:.6f}, peer accuracy "
          + ", ".join(f"{p['accuracy']:.6f} (num_workers={p['workers']})" for p in peers.values())
          + f"; largest difference over accuracy, macro/weighted F1, top-3/5, log loss and ECE: "
          + f"{max(p['max_metric_diff'] for p in peers.values()):.2e}; confusion matrices "
          + ("identical" if all(p["same_confusion"] for p in peers.values()) else "DIFFERENT")
          + (" (agree)" if agree else " (DO NOT AGREE to 1e-4)") + "."]
lines += [f"- Model: val accuracy {train['epochs'][-1]['val_accuracy']:.4f} after {epochs} epoch(s) of training."]
lines += ["", f"Machine: {cpu}, {__import__('os').cpu_count()} cores; load average at the end {load}; {fsml_version}.", "",
          f"Reproduce: {cmd}"]
md = "\n".join(lines) + "\n"
open(result + ".md", "w").write(md)
json.dump({"quick": quick, "model": ref, "epochs": epochs, "threads": threads, "repeat": repeat, "test_images": n_test,
           "fsml": {"wall_s": f_wall, "span_s": f_span, "walls_s": [r["wall_s"] for r in fsml],
                    "spans_s": [r["json"]["seconds"] for r in fsml], "metrics": flat(fm)},
           "peers": peers, "target_speedup_wall": 1.5, "target_met": met, "metrics_agree": agree,
           "machine": {"cpu": cpu, "load_end": load}, "fsml_version": fsml_version, "command": cmd},
          open(result + ".json", "w"), indent=2)
print(md, end="")
PY
say "wrote $RESULT.md and $RESULT.json"
