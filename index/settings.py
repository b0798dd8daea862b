"""Settings of the indexing layer, read from `RAG_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "intfloat/multilingual-e5-small"
EMBED_DEVICES = ("auto", "cpu", "cuda", "mps")


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
    embed_batch: int = Field(
        default=16, description="Chunks embedded per call (per request to an embedding server)."
    )
    embed_base_url: str | None = Field(
        default=None,
        description="URL of an OpenAI-compatible embeddings server (vLLM, Ollama, "
        "text-embeddings-inference, OpenAI), e.g. http://host:8081/v1; it serves embed_model. "
        "Unset: embeddings are computed in this process.",
    )
    embed_api_key: str | None = Field(default=None, description="API key for embed_base_url.")
    embed_concurrency: int = Field(
        default=4,
        description="Batches sent to the embedding server at once while indexing "
        "(embed_base_url only; in-process embedding runs one batch at a time).",
    )
    embed_timeout: float = Field(
        default=120.0, description="Seconds to wait for one reply of the embedding server."
    )
    embed_device: str = Field(
        default="auto",
        description="Where sentence-transformers models run: auto (CUDA, else MPS, else CPU), "
        "cpu, cuda or mps. The packaged multilingual-e5-small always runs on the CPU.",
    )

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

    @field_validator("chroma_url", "embed_base_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"RAG_{str(info.field_name).upper()} must start with http:// or https://. "
                f"Currently, it is {value!r}"
            )
        return value

    @field_validator("embed_batch")
    @classmethod
    def _batch(cls, value: int) -> int:
        if not 1 <= value <= 2048:
            raise ValueError(f"embed_batch must be between 1 and 2048. Currently, it is {value}")
        return value

    @field_validator("embed_concurrency")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        if not 1 <= value <= 64:
            raise ValueError(
                f"embed_concurrency must be between 1 and 64. Currently, it is {value}"
            )
        return value

    @field_validator("embed_timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"embed_timeout must be more than 0 seconds. Currently, it is {value}")
        return value

    @field_validator("embed_device")
    @classmethod
    def _device(cls, value: str) -> str:
        device = value.strip().lower()
        if device not in EMBED_DEVICES:
            choices = ", ".join(EMBED_DEVICES)
            raise ValueError(f"embed_device must be one of {choices}. Currently, it is {value!r}")
        return device
