#!/usr/bin/env bash
# The team set-up, on one host: a Chroma server, an embedding server and an LLM server, then
# the chat with a login, pointed at them. On real machines each server runs where it fits (the
# embedding and LLM servers on a GPU box); the RAG_* variables printed below are all that joins
# them. A server whose URL is already set (RAG_CHROMA_URL, RAG_EMBED_BASE_URL, RAG_LLM_BASE_URL)
# is used as it is, not started.
#
#   RAG_UI_PASSWORD=... scripts/team.sh [DOCS...]    # DOCS are indexed before the chat opens
#
# TEAM_HOST [127.0.0.1]: where every server listens (a private-network address for a team; the
#   Chroma and embedding servers have no login of their own, so never a public one).
# TEAM_DATA [~/.local/share/rag/team]: Chroma's data, uploads and the servers' logs.
# CHROMA_PORT [8000], EMBED_PORT [8081], LLM_PORT [8082], UI_PORT [7860].
# EMBED_SERVER: command that starts the embedding server [the packaged e5, on the CPU:
#   python -m index.embed_server]. LLM_SERVER: same for the LLM [llama.cpp's OpenAI-compatible
#   server on the packaged GGUF; needs pip install 'llama-cpp-python[server]==0.3.36'].
# RAG_EMBED_MODEL, RAG_LLM_MODEL: the names those servers serve the models under.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${RAG_UI_PASSWORD:?set RAG_UI_PASSWORD: the chat asks everyone for it}"
PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")
HOST=${TEAM_HOST:-127.0.0.1}
DATA=${TEAM_DATA:-$HOME/.local/share/rag/team}
CHROMA_PORT=${CHROMA_PORT:-8000}
EMBED_PORT=${EMBED_PORT:-8081}
LLM_PORT=${LLM_PORT:-8082}
UI_PORT=${UI_PORT:-7860}
export RAG_EMBED_MODEL=${RAG_EMBED_MODEL:-intfloat/multilingual-e5-small}
export RAG_LLM=${RAG_LLM:-openai}
export RAG_LLM_MODEL=${RAG_LLM_MODEL:-local}
export RAG_UPLOAD_DIR=${RAG_UPLOAD_DIR:-$DATA/uploads}
mkdir -p "$DATA/logs"

PIDS=()
stop() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

start() {  # NAME COMMAND: run COMMAND (a shell line) in the background, its output in a log
  echo "team: starting $1 (log: $DATA/logs/$1.log)" >&2
  bash -c "exec $2" >"$DATA/logs/$1.log" 2>&1 &
  PIDS+=("$!")
}

wait_for() {  # NAME URL: until URL answers 200, or the server has exited, or 5 minutes pass
  local pid=${PIDS[-1]}
  for _ in $(seq 600); do
    "$PY" -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=2)' "$2" \
      2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "team: $1 exited; see $DATA/logs/$1.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "team: $1 did not answer at $2" >&2
  exit 1
}

if [ -z "${RAG_CHROMA_URL:-}" ]; then
  start chroma "'$BIN/chroma' run --path '$DATA/chroma' --host $HOST --port $CHROMA_PORT"
  wait_for chroma "http://$HOST:$CHROMA_PORT/api/v2/heartbeat"
  export RAG_CHROMA_URL="http://$HOST:$CHROMA_PORT"
fi
if [ -z "${RAG_EMBED_BASE_URL:-}" ]; then
  start embed "${EMBED_SERVER:-$PY -m index.embed_server --host $HOST --port $EMBED_PORT}"
  wait_for embed "http://$HOST:$EMBED_PORT/v1/models"
  export RAG_EMBED_BASE_URL="http://$HOST:$EMBED_PORT/v1"
fi
if [ -z "${RAG_LLM_BASE_URL:-}" ]; then
  if [ -z "${LLM_SERVER:-}" ]; then
    GGUF=$("$PY" -c 'from index import IndexSettings; from rag.llm.packaged import packaged_model_path
print(packaged_model_path(IndexSettings().cache_dir))')
    LLM_SERVER="$PY -m llama_cpp.server --model '$GGUF' --model_alias $RAG_LLM_MODEL"
    LLM_SERVER+=" --host $HOST --port $LLM_PORT --n_ctx 4096"
  fi
  start llm "$LLM_SERVER"
  wait_for llm "http://$HOST:$LLM_PORT/v1/models"
  export RAG_LLM_BASE_URL="http://$HOST:$LLM_PORT/v1"
fi
env | grep -E '^RAG_(CHROMA_URL|EMBED_BASE_URL|EMBED_MODEL|LLM|LLM_BASE_URL|LLM_MODEL)=' >&2

if [ $# -gt 0 ]; then
  "$BIN/rag" index "$@" || [ $? -eq 1 ]  # 1: some files failed (listed above); go on
fi
start ui "'$BIN/rag' ui --host $HOST --port $UI_PORT"
wait_for ui "http://$HOST:$UI_PORT/"
echo "team: chat at http://$HOST:$UI_PORT (user ${RAG_UI_USER:-rag}); Ctrl+C stops everything" >&2
wait "${PIDS[-1]}"
