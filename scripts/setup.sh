#!/usr/bin/env bash
# Set up .venv with everything the product needs; `--dev` adds the test tools and Chromium.
# Safe to re-run: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
fi
[ -n "$PYTHON" ] || { echo "setup: Python 3.10+ is required (none found on PATH)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

# torch first, CPU build: otherwise sentence-transformers pulls a multi-GB CUDA torch.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: installing torch (CPU)"
  # Where no local CPU wheel is configured, point pip at PyTorch's CPU index first
  # (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL), or a CUDA build is downloaded.
  "${PIP[@]}" install -q torch==2.13.0
fi

extras="."
[ "${1:-}" = "--dev" ] && extras=".[dev]"
# llama-cpp-python compiles from source the first time (about 7 minutes on 2 cores);
# pip caches the wheel, so later set-ups take seconds.
echo "setup: installing the project ($extras); the first run builds llama.cpp and takes a while"
"${PIP[@]}" install -q -e "$extras"

if [ "${1:-}" = "--dev" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: install Chromium (e.g. sudo apt-get install chromium) to run the browser tests" >&2
  fi
fi
echo "setup: done"
