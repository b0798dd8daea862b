"""Indexing layer: load documents, chunk, embed and keep them in Chroma."""

from index.chunk import Chunk
from index.embed import Embedder, load_embedder
from index.errors import (
    DocumentError,
    EmbedderError,
    EmptyStoreError,
    MissingPathError,
    ModelMismatchError,
    RagError,
    SettingsError,
    StoreUnavailableError,
    UnknownSourceError,
)
from index.load import SUPPORTED_SUFFIXES
from index.pipeline import IndexReport, Progress, index_paths, open_store, remove_documents
from index.settings import IndexSettings
from index.store import FileRecord, Hit, Store

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "DocumentError",
    "Embedder",
    "EmbedderError",
    "EmptyStoreError",
    "FileRecord",
    "Hit",
    "IndexReport",
    "IndexSettings",
    "MissingPathError",
    "ModelMismatchError",
    "Progress",
    "RagError",
    "SettingsError",
    "Store",
    "StoreUnavailableError",
    "UnknownSourceError",
    "index_paths",
    "load_embedder",
    "open_store",
    "remove_documents",
]
