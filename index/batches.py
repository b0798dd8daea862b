"""Embedding batches concurrently (for a server) while the caller consumes them in order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from index.embed import Embedder
from index.served import ServedEmbedder
from index.settings import IndexSettings

B = TypeVar("B")


def batches_at_once(embedder: Embedder, settings: IndexSettings) -> int:
    """How many batches are embedded concurrently: a server takes several, a local model one."""
    return settings.embed_concurrency if isinstance(embedder, ServedEmbedder) else 1


def embed_batches(
    batches: Iterable[B],
    texts: Callable[[B], list[str]],
    embedder: Embedder,
    workers: int,
) -> Generator[tuple[B, np.ndarray], None, None]:
    """Each batch with its passage vectors, in the order given, embedded by `workers` threads.

    Twice as many batches as workers are in flight, so the workers stay busy while the caller
    works on a result (writes it to the store); the caller sees results strictly in order.
    """
    pending = iter(batches)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed")
    inflight: deque[tuple[B, Future[np.ndarray]]] = deque()

    def submit() -> None:
        for batch in pending:
            inflight.append((batch, pool.submit(embedder.embed_passages, texts(batch))))
            return

    try:
        for _ in range(2 * workers):
            submit()
        while inflight:
            batch, future = inflight.popleft()
            vectors = future.result()
            submit()
            yield batch, vectors
    finally:
        # On a failure (or Ctrl+C) the batches not started are dropped; running requests end
        # on their own. The caller has written only files whose every vector it holds.
        pool.shutdown(wait=False, cancel_futures=True)
