#!/usr/bin/env bash
# Installs every Debian package fsml's build, tests, benchmarks and quickstart
# need, installs the web app's npm packages into web/node_modules, then builds
# fsml into build/ and installs the browser tests' npm packages into
# tests/browser/node_modules. Idempotent: a second run installs
# nothing new and rebuilds only what changed.
#
#   scripts/setup.sh            install + build
#   FSML_BUILD_DIR=dir          build somewhere else (default: build)
#   FSML_SKIP_INSTALL=1         build only
#   FSML_BUILD_TARGET=name      build one target (e.g. unit_tests) instead of everything
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
  # libraries
  libssl-dev libsqlite3-dev zlib1g-dev nlohmann-json3-dev libtomlplusplus-dev libexpected-dev
  libfmt-dev libspdlog-dev libcli11-dev libstb-dev
  # serving: HTTP (Boost.Beast, header-only) and RabbitMQ's C client
  libboost-dev librabbitmq-dev
  # scale-out stores: PostgreSQL's client, and libcurl + libxml2 for the S3 API
  # (and the crawler, with RE2 for its URL patterns)
  libpq-dev libcurl4-openssl-dev libxml2-dev libre2-dev libsodium-dev
  # uploads to the web app: zip archives (libarchive), passwords (libsodium above)
  libarchive-dev
  # training: LibTorch, and OpenBLAS so it does not run on netlib's reference BLAS
  libtorch-dev libopenblas0-pthread
  # tests and benchmarks
  libgtest-dev libgmock-dev sqlite3 hyperfine time python3 python3-requests git
  # the message broker of the integration tests (started by scripts/services.sh) and the
  # Python worker that consumes the same queue
  rabbitmq-server python3-pika
  # the scale-out tests' database server, and the aws CLI and boto3 that read
  # fsml's S3 objects (the S3 server is moto, from the machine's Python)
  postgresql awscli python3-boto3 curl
  # the peers benchmarks compare against, and the load generator
  python3-torch python3-torchvision python3-numpy python3-sklearn python3-pil
  python3-fastapi python3-uvicorn python3-celery python3-kombu wrk
  # the crawler's test shop (nginx with Lua for the flaky and slow pages) and the peer crawlers of its benchmark
  nginx libnginx-mod-http-lua python3-scrapy wget
  # browser tests (headless Chromium driven by playwright-core from npm)
  chromium
  # the public benchmark data set
  dataset-fashion-mnist
  # the Python package (pybind11 module on Debian's Python), its tests (pytest, pandas for
  # to_pandas()) and the virtual environment `pip install ./python` is checked in
  pybind11-dev python3-dev python3-pytest python3-pandas python3-venv
)

if [[ "${FSML_SKIP_INSTALL:-0}" != 1 ]]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update -q
    # Servers must not start on install: services.sh runs them on ports of their own, and
    # Debian's nginx would take port 80 (or fail the install where it cannot start). A
    # policy-rc.d that denies every start does it, unless the machine has one already.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d > /dev/null
      $SUDO chmod 755 /usr/sbin/policy-rc.d
      trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
    # On a systemd host the nginx just installed would also start at the next boot.
    if [[ " ${missing[*]} " == *" nginx "* && -d /run/systemd/system ]]; then
      $SUDO systemctl disable --now nginx > /dev/null 2>&1 || true
    fi
  fi
fi

# The web app's npm packages (pinned by web/package-lock.json): the build runs
# `npm run build` in web/ and compiles its output into the program.
if [[ "${FSML_SKIP_INSTALL:-0}" != 1 || ! -d web/node_modules ]]; then
  (cd web && npm ci --no-audit --no-fund)
fi

BUILD_DIR=${FSML_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${FSML_CMAKE_ARGS:-} > /dev/null
cmake --build "$BUILD_DIR" ${FSML_BUILD_TARGET:+--target "$FSML_BUILD_TARGET"}
echo "setup: built ${FSML_BUILD_TARGET:-$BUILD_DIR/src/fsml} in $BUILD_DIR"

# The browser tests' npm packages, pinned by tests/browser/package-lock.json.
# Node.js and npm come with the machine (never from apt: they conflict).
if [[ "${FSML_SKIP_INSTALL:-0}" != 1 || ! -d tests/browser/node_modules ]]; then
  (cd tests/browser && npm ci --no-audit --no-fund)
fi
