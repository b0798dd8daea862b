"""LLM backends, chosen by RAG_LLM and built once per process."""

from __future__ import annotations

import threading
from pathlib import Path

from rag.errors import BackendError
from rag.llm.base import LLM, Message
from rag.settings import RagSettings

_loaded: dict[tuple[object, ...], LLM] = {}
_lock = threading.Lock()


def _build(settings: RagSettings) -> LLM:
    if settings.llm == "llamacpp":
        from rag.llm import packaged
        from rag.llm.llamacpp import LlamaCppLLM

        name: str | None = None
        if settings.llm_model:
            path = Path(settings.llm_model).expanduser()
        else:
            path, name = packaged.packaged_model_path(settings.index.cache_dir), packaged.NAME
        return LlamaCppLLM(
            path,
            settings.llm_context,
            settings.llm_threads,
            name=name,
            gpu_layers=settings.llm_gpu_layers,
        )

    from rag.llm.server import OLLAMA_URL, OPENAI_URL, OpenAICompatibleLLM

    if settings.llm == "ollama":
        return OpenAICompatibleLLM(
            settings.llm_base_url or OLLAMA_URL,
            settings.llm_model or "qwen2.5:1.5b",
            settings.llm_api_key,
            settings.llm_context,
            settings.llm_timeout,
        )
    if not settings.llm_model:
        raise BackendError("RAG_LLM=openai needs a model name: set RAG_LLM_MODEL.")
    return OpenAICompatibleLLM(
        settings.llm_base_url or OPENAI_URL,
        settings.llm_model,
        settings.llm_api_key,
        settings.llm_context,
        settings.llm_timeout,
    )


def describe_llm(settings: RagSettings) -> str:
    """A readable name of the configured LLM, without loading it."""
    if settings.llm == "llamacpp":
        if settings.llm_model:
            return f"{Path(settings.llm_model).name} (llama.cpp)"
        from rag.llm.packaged import NAME

        return NAME
    from rag.llm.server import OLLAMA_URL, OPENAI_URL

    default_url = OLLAMA_URL if settings.llm == "ollama" else OPENAI_URL
    model = settings.llm_model or ("qwen2.5:1.5b" if settings.llm == "ollama" else "?")
    return f"{model} @ {settings.llm_base_url or default_url} ({settings.llm})"


def load_llm(settings: RagSettings) -> LLM:
    """The LLM for these settings; a model is loaded once per process and then reused."""
    key = (
        settings.llm,
        settings.llm_model,
        settings.llm_base_url,
        settings.llm_api_key,
        settings.llm_context,
        settings.llm_gpu_layers,
        str(settings.index.cache_dir),
    )
    with _lock:
        if key not in _loaded:
            _loaded[key] = _build(settings)
        return _loaded[key]


__all__ = ["LLM", "Message", "describe_llm", "load_llm"]
