"""Embedding servers on 127.0.0.1 for tests: the product's server (index/embed_server.py) with
scripted vectors, delays and failures, so the HTTP embedder is tested against real requests."""

from __future__ import annotations

import threading
import time

import numpy as np

from index.embed_server import EmbeddingServer, EmbedFn
from tests.fakes import HashEmbedder


class ScriptedEmbeddings:
    """An embed function that records what it is sent, waits, and fails when told to."""

    def __init__(
        self,
        embed: EmbedFn | None = None,
        delay_s: float = 0.0,
        fail_from: int | None = None,
    ) -> None:
        self._embed = embed or HashEmbedder().embed_passages
        self.delay_s = delay_s
        self.fail_from = fail_from  # requests from this number on (0-based) answer HTTP 500
        self.requests: list[list[str]] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            number = len(self.requests)
            self.requests.append(list(texts))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            if self.fail_from is not None and number >= self.fail_from:
                raise RuntimeError("out of GPU memory (scripted)")
            return self._embed(texts)
        finally:
            with self._lock:
                self.in_flight -= 1

    @property
    def texts(self) -> list[str]:
        return [t for request in self.requests for t in request]


def hash_server(
    embeddings: ScriptedEmbeddings | None = None,
    model: str = HashEmbedder.name,
    api_key: str | None = None,
) -> EmbeddingServer:
    """A server of HashEmbedder vectors under the fake's own model name (not started)."""
    return EmbeddingServer(embeddings or ScriptedEmbeddings(), [model], api_key=api_key)
