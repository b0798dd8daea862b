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

# llama-cpp-python compiles from source (about 7-10 minutes on 2 cores). It is built for
# AVX2 rather than `-march=native`: a native build on a CPU with AMX tiles (Sapphire Rapids
# and later) dies with SIGILL in llama.cpp's AMX kernels on these virtual machines, and a
# native wheel cached on one CPU crashes on an older one. The wheel is kept in our own cache
# (pip's wheel cache ignores CMAKE_ARGS), so later set-ups take seconds. LLAMA_CMAKE_ARGS
# replaces the flags (e.g. "-DGGML_CUDA=on" for an NVIDIA GPU; see the README).
LLAMA_VERSION=0.3.36
LLAMA_FLAGS=${LLAMA_CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"}
LLAMA_TAG=$(printf '%s' "$LLAMA_FLAGS" | sha1sum | cut -c1-10)
WHEELS="${RAG_CACHE_DIR:-$HOME/.cache/rag}/wheels/llama-cpp-$LLAMA_VERSION-$LLAMA_TAG"
if [ "$(cat .venv/.llama-build 2>/dev/null)" != "$LLAMA_TAG" ]; then
  if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "setup: building llama.cpp ($LLAMA_FLAGS); this takes about 10 minutes once"
    mkdir -p "$WHEELS"
    CMAKE_ARGS="$LLAMA_FLAGS" "${PIP[@]}" wheel -q --no-deps --no-cache-dir -w "$WHEELS" \
      "llama-cpp-python==$LLAMA_VERSION"
  fi
  # No deps here: the project install below brings them (numpy, jinja2, diskcache).
  "${PIP[@]}" install -q --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-*.whl
  echo "$LLAMA_TAG" > .venv/.llama-build
fi

extras="."
[ "${1:-}" = "--dev" ] && extras=".[dev]"
echo "setup: installing the project ($extras)"
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
