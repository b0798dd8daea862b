"""LLM backends: one registry (name -> factory, description, default model), chosen by
RAG_LLM, each model built once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import BackendError
from rag.llm.base import LLM, LLMOptions, Message


@dataclass(frozen=True)
class Backend:
    name: str
    description: str
    default_model: str | None  # None: the model must be named (RAG_LLM_MODEL)
    default_url: str | None  # servers only
    build: Callable[[LLMOptions, Path], LLM]  # (settings, model cache directory) -> LLM


def _llamacpp(settings: LLMOptions, cache_dir: Path) -> LLM:
    from rag.llm import packaged
    from rag.llm.llamacpp import LlamaCppLLM

    name: str | None = None
    if settings.llm_model:
        path = Path(settings.llm_model).expanduser()
    else:
        path, name = packaged.packaged_model_path(cache_dir), packaged.NAME
    return LlamaCppLLM(
        path,
        settings.llm_context,
        settings.llm_threads,
        name=name,
        gpu_layers=settings.llm_gpu_layers,
    )


def _server(backend: str) -> Callable[[LLMOptions, Path], LLM]:
    def build(settings: LLMOptions, cache_dir: Path) -> LLM:
        from rag.llm.server import OpenAICompatibleLLM

        spec = BACKENDS[backend]
        model = settings.llm_model or spec.default_model
        if not model:
            raise BackendError(f"RAG_LLM={backend} needs a model name: set RAG_LLM_MODEL.")
        return OpenAICompatibleLLM(
            settings.llm_base_url or str(spec.default_url),
            model,
            settings.llm_api_key,
            settings.llm_context,
            settings.llm_timeout,
        )

    return build


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in [
        Backend(
            "llamacpp",
            "embedded llama.cpp (default): a local GGUF file, the packaged Qwen2.5-Coder-1.5B "
            "unless RAG_LLM_MODEL names one",
            None,
            None,
            _llamacpp,
        ),
        Backend(
            "ollama",
            "an Ollama server, through its OpenAI-compatible /v1 API",
            "qwen2.5:1.5b",
            "http://127.0.0.1:11434/v1",
            _server("ollama"),
        ),
        Backend(
            "openai",
            "any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, OpenAI)",
            None,
            "https://api.openai.com/v1",
            _server("openai"),
        ),
    ]
}

_loaded: dict[tuple[object, ...], LLM] = {}
_lock = threading.Lock()


def describe_llm(settings: LLMOptions) -> str:
    """A readable name of the configured LLM, without loading it."""
    if settings.llm == "llamacpp":
        if settings.llm_model:
            return f"{Path(settings.llm_model).name} (llama.cpp)"
        from rag.llm.packaged import NAME

        return NAME
    spec = BACKENDS[settings.llm]
    model = settings.llm_model or spec.default_model or "?"
    return f"{model} @ {settings.llm_base_url or spec.default_url} ({settings.llm})"


def load_llm(settings: LLMOptions, cache_dir: Path) -> LLM:
    """The LLM for these settings; a model is loaded once per process and then reused.

    `cache_dir` is where packaged models are unpacked (the index layer's RAG_CACHE_DIR).
    """
    key = (
        settings.llm,
        settings.llm_model,
        settings.llm_base_url,
        settings.llm_api_key,
        settings.llm_context,
        settings.llm_gpu_layers,
        str(cache_dir),
    )
    with _lock:
        if key not in _loaded:
            _loaded[key] = BACKENDS[settings.llm].build(settings, Path(cache_dir))
        return _loaded[key]


__all__ = ["BACKENDS", "LLM", "Backend", "Message", "describe_llm", "load_llm"]
