"""Settings of the indexing layer, read from `RAG_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "intfloat/multilingual-e5-small"


def _data_home() -> Path:
    return Path.home() / ".local" / "share" / "rag"


def _cache_home() -> Path:
    return Path.home() / ".cache" / "rag"


class IndexSettings(BaseSettings):
    """Where the store lives, how documents are chunked and which model embeds them."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", frozen=True)

    store_dir: Path = Field(
        default_factory=lambda: _data_home() / "store",
        description="Directory of the embedded Chroma store (RAG_STORE_DIR).",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (`chroma run`); when set, store_dir is not used.",
    )
    collection: str = Field(default="documents", description="Chroma collection name.")
    embed_model: str = Field(
        default=DEFAULT_EMBED_MODEL,
        description="Embedding model: the packaged multilingual-e5-small (default), or any "
        "sentence-transformers model name or local path.",
    )
    cache_dir: Path = Field(
        default_factory=_cache_home,
        description="Where downloaded or assembled models are kept (RAG_CACHE_DIR).",
    )
    chunk_size: int = Field(default=80, description="Chunk length in words.")
    chunk_overlap: int = Field(default=20, description="Words shared by neighbouring chunks.")
    max_file_mb: float = Field(default=50.0, description="Files larger than this are skipped.")
    embed_batch: int = Field(default=16, description="Chunks embedded per call.")

    @field_validator("chunk_size")
    @classmethod
    def _positive_chunk(cls, value: int) -> int:
        if value < 10:
            raise ValueError(f"chunk_size must be at least 10 words. Currently, it is {value}")
        return value

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"chunk_overlap must be 0 or more. Currently, it is {value}")
        return value

    @field_validator("chroma_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"RAG_CHROMA_URL must start with http:// or https://. Currently, it is {value!r}"
            )
        return value
