#!/usr/bin/env bash
# Training speed, side by side: one epoch of cnn-small on Fashion-MNIST's
# training split by fsml and by a plain PyTorch script (Debian's
# python3-torch, torchvision ImageFolder + DataLoader over the same PNGs),
# same batch size and threads, in one run. Also fsml's loader alone and the
# start-up time of a command that needs no model.
#
#   bench/train_bench.sh [--fsml PATH] [--threads N] [--epochs N]
# Writes bench/out/train_bench.md.
set -euo pipefail
cd "$(dirname "$0")/.."
FSML=build/src/fsml
THREADS=$(nproc)
EPOCHS=1
while (($#)); do
  case $1 in
    --fsml) FSML=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
FSML=$(realpath "$FSML")
OUT=bench/out/train
mkdir -p "$OUT"
WS=$OUT/ws
if [[ ! -f $WS/fsml.toml ]]; then
  "$FSML" -q quickstart "$WS" > /dev/null
fi
if [[ ! -d $OUT/export ]]; then
  "$FSML" -q -w "$WS" data export fashion@v1 "$OUT/export" --format imagefolder > /dev/null
fi
n_train=$(find "$OUT/export/train" -name '*.png' | wc -l)

echo "cnn-small, batch 128, $THREADS threads, $n_train training images" >&2
"$FSML" -q -w "$WS" train fashion@v1 --model cnn-small --epochs "$EPOCHS" --batch-size 128 --threads "$THREADS" \
  --augment none --json > "$OUT/fsml.json"
fsml_sps=$(/usr/bin/python3 -c "import json; d=json.load(open('$OUT/fsml.json')); e=d['epochs']; print(round(sum(x['samples_per_second'] for x in e)/len(e)))")
fsml_s=$(/usr/bin/python3 -c "import json; d=json.load(open('$OUT/fsml.json')); print(round(d['epochs'][0]['seconds'],1))")
rows=()
# The peer as a user runs it (OpenBLAS threads at its default), and with the
# OpenBLAS setting fsml applies to itself (one thread per operation).
torch_version=$(/usr/bin/python3 -c "import torch; print(torch.__version__)")
for variant in 0 2 0-blas1; do
  workers=${variant%%-*}
  blas_env=()
  note=""
  if [[ $variant == *-blas1 ]]; then blas_env=(env OPENBLAS_NUM_THREADS=1); note=", OPENBLAS_NUM_THREADS=1"; fi
  "${blas_env[@]}" /usr/bin/python3 bench/train_peer.py --data "$OUT/export/train" --threads "$THREADS" --workers "$workers" \
    --batch-size 128 > "$OUT/peer-$variant.json"
  peer_sps=$(/usr/bin/python3 -c "import json; print(round(json.load(open('$OUT/peer-$variant.json'))['samples_per_second']))")
  peer_s=$(/usr/bin/python3 -c "import json; print(round(json.load(open('$OUT/peer-$variant.json'))['seconds'],1))")
  ratio=$(/usr/bin/python3 -c "print(f'{$fsml_sps/$peer_sps:.2f}')")
  rows+=("| PyTorch $torch_version, DataLoader num_workers=$workers$note | $peer_s | $peer_sps | $ratio |")
done

loader=$(build/bench/loader_bench "$WS" fashion@v1 --threads "$THREADS" --epochs 2 | tail -2)
loader_cold=$(echo "$loader" | head -1 | awk -F'|' '{print $5}' | tr -d ' ')
loader_warm=$(echo "$loader" | tail -1 | awk -F'|' '{print $5}' | tr -d ' ')
startup=$(hyperfine -N --warmup 5 --runs 50 --export-json "$OUT/startup.json" "$FSML -w $WS data log fashion" > /dev/null 2>&1 &&
          /usr/bin/python3 -c "import json; r=json.load(open('$OUT/startup.json'))['results'][0]; print(f\"{r['mean']*1000:.1f} ms (sd {r['stddev']*1000:.1f})\")")
blas=$(/usr/bin/python3 -c "import json; print(json.load(open('$OUT/fsml.json'))['log'].split(', ')[2])")

{
  echo "## Training speed: one epoch of cnn-small (batch 128, $THREADS threads, $(nproc) cores)"
  echo
  echo "| trainer | epoch seconds | samples/s | fsml / peer |"
  echo "|---|---|---|---|"
  echo "| fsml (LibTorch $(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null | cut -d+ -f1), $blas) | $fsml_s | $fsml_sps | 1.00 |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Loader alone (decode, normalize, batch; no training): first epoch $loader_cold samples/s, cached epochs $loader_warm samples/s"
  echo "= $(/usr/bin/python3 -c "print(f'{$loader_cold/$fsml_sps:.0f}')")x (first) and $(/usr/bin/python3 -c "print(f'{$loader_warm/$fsml_sps:.0f}')")x (cached) what training consumes."
  echo
  echo "Start-up of a command that loads no model, \`fsml data log fashion\`: $startup"
  echo
  echo "Reproduce: bench/train_bench.sh --threads $THREADS"
} | tee bench/out/train_bench.md
