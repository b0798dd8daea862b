"""Settings of the indexing layer, read from `RAG_*` environment variables."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "intfloat/multilingual-e5-small"
EMBED_DEVICES = ("auto", "cpu", "cuda", "mps")


def _data_home() -> Path:
    return Path.home() / ".local" / "share" / "rag"


def _cache_home() -> Path:
    return Path.home() / ".cache" / "rag"


class LayerSettings(BaseSettings):
    """Settings of one layer (index, rag, ui): every field reads `RAG_<NAME>`, and a keyword
    that is not a field of this layer is refused with where it belongs.

    The layers nest (UISettings.rag.index), so each entry point builds one root, once.
    """

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in data:
                if name not in cls.model_fields:
                    raise ValueError(unknown_setting(cls, str(name)))
        return data


def _layers() -> list[type[LayerSettings]]:
    found, todo = [], list(LayerSettings.__subclasses__())
    while todo:
        layer = todo.pop()
        found.append(layer)
        todo += layer.__subclasses__()
    return found


def unknown_setting(layer: type[LayerSettings], name: str) -> str:
    """Why `name` is refused by `layer`: the layer it belongs to, or the nearest names."""
    owner = next((other for other in _layers() if name in other.model_fields), None)
    if owner is not None:
        nested = next(
            (f for f, info in layer.model_fields.items() if info.annotation is owner), None
        )
        how = f"{layer.__name__}({nested}={owner.__name__}({name}=…))" if nested else ""
        return f"{layer.__name__} has no setting {name!r}: it is a setting of {owner.__name__}" + (
            f"; pass it as {how}" if how else ""
        )
    close = difflib.get_close_matches(name, list(layer.model_fields), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"{layer.__name__} has no setting {name!r}.{hint}"


def unknown_environment(environ: dict[str, str] | None = None) -> list[str]:
    """`RAG_*` variables set in the environment that no layer reads, each with a hint."""
    environ = dict(os.environ if environ is None else environ)
    known = {f"RAG_{f.upper()}" for layer in _layers() for f in layer.model_fields}
    out = []
    for name in sorted(environ):
        if name.startswith("RAG_") and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            out.append(
                f"{name} is not a setting" + (f" (did you mean {close[0]}?)" if close else "")
            )
    return out


class IndexSettings(LayerSettings):
    """Where the store lives, how documents are chunked and which model embeds them."""

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
