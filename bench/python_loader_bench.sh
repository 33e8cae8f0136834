#!/usr/bin/env bash
# Data loading from Python: fsml's ds.loader() against torchvision's
# ImageFolder + DataLoader (num_workers 0 and 2) over the same PNGs, exported
# from the same version, and one cnn-small training epoch fed by each
# (bench/python_loader_bench.py measures). Uses the build tree's package
# (build/python) with Debian's Python, numpy and torch.
#
#   bench/python_loader_bench.sh [--build DIR] [--workers N] [--threads N] [--no-train]
# Writes bench/out/python_loader_bench.md and .json.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build
ARGS=()
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --workers|--threads) ARGS+=("$1" "$2"); shift 2 ;;
    --no-train) ARGS+=("$1"); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
FSML=$(realpath "$BUILD/src/fsml")
[[ -d $BUILD/python/fsml ]] || { echo "no Python package in $BUILD/python (configure with -DFSML_BUILD_PYTHON=ON)" >&2; exit 1; }
OUT=bench/out/python_loader
mkdir -p "$OUT"
WS=$OUT/ws
[[ -f $WS/fsml.toml ]] || "$FSML" -q quickstart "$WS" > /dev/null
[[ -d $OUT/export ]] || "$FSML" -q -w "$WS" data export fashion@v1 "$OUT/export" --format imagefolder > /dev/null
# One thread per OpenBLAS call under torch's own threads, as fsml runs it,
# for every trainer here (see the training benchmark in bench/README.md).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
PYTHONPATH=$(realpath "$BUILD/python") /usr/bin/python3 bench/python_loader_bench.py --ws "$WS" --ref fashion@v1 \
  --images "$OUT/export/train" --json bench/out/python_loader_bench.json "${ARGS[@]}" | tee bench/out/python_loader_bench.md
echo "Reproduce: bench/python_loader_bench.sh ${ARGS[*]}" | tee -a bench/out/python_loader_bench.md
