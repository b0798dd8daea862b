"""A tiny OpenAI-compatible chat server on 127.0.0.1 for testing the HTTP backend for real.

Also a process of its own, for tests that start whole set-ups (scripts/team.sh):
`python -m tests.openai_server --port N --model local --cite "Piaggio Aerospace"`.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAIServer:
    """Serves /v1/chat/completions (streamed and not) with scripted replies; records requests."""

    def __init__(
        self,
        reply: str | Callable[[list[dict[str, str]]], str] = "Piaggio Aerospace [1].",
        model: str = "tiny",
        api_key: str | None = None,
        port: int = 0,
        word_delay: float = 0.0,
        drop_after: int | None = None,
    ) -> None:
        self.reply = reply
        self.model = model
        self.api_key = api_key
        self.word_delay = word_delay  # seconds between streamed words: a model that takes time
        self.drop_after = drop_after  # words streamed before the connection is cut (a crash)
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests answered at the same moment
        self._count = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    return self._json(404, {"error": {"message": "no route"}})
                self._json(200, {"object": "list", "data": [{"id": server.model}]})

            def do_POST(self) -> None:
                with server._count:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._post()
                finally:
                    with server._count:
                        server.in_flight -= 1

            def _post(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                reply = (
                    server.reply
                    if isinstance(server.reply, str)
                    else server.reply(body.get("messages", []))
                )
                if (
                    server.api_key
                    and self.headers.get("Authorization") != f"Bearer {server.api_key}"
                ):
                    return self._json(401, {"error": {"message": "bad key", "type": "auth"}})
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": "no route"}})
                if body.get("model") != server.model:
                    return self._json(404, {"error": {"message": "model not found"}})
                if not body.get("stream"):
                    return self._json(
                        200,
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "created": 0,
                            "model": server.model,
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": reply},
                                }
                            ],
                        },
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                if server.drop_after is not None:  # promise more than is sent, then hang up
                    self.send_header("Content-Length", "1000000")
                self.end_headers()
                for i, word in enumerate(reply.split(" ")):
                    if i == server.drop_after:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    piece = {
                        "id": "x",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": server.model,
                        "choices": [
                            {"index": 0, "delta": {"content": word + " "}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(piece)}\n\n".encode())
                    self.wfile.flush()
                    if server.word_delay:
                        time.sleep(server.word_delay)
                self.wfile.write(b"data: [DONE]\n\n")

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def citing(answer: str) -> Callable[[list[dict[str, str]]], str]:
    """A model that replies `answer` citing the numbered source that contains it."""

    def reply(messages: list[dict[str, str]]) -> str:
        lines = messages[-1]["content"].splitlines()
        line = next((ln for ln in lines if answer in ln), None)
        return f"{answer} {line.split()[0]}." if line else "I don't know."

    return reply


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.openai_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--cite", required=True, help="the answer, cited from its source")
    args = parser.parse_args()
    with FakeOpenAIServer(citing(args.cite), args.model, port=args.port) as server:
        print(f"fake chat server at {server.url}", flush=True)
        server._thread.join()


if __name__ == "__main__":
    main()
