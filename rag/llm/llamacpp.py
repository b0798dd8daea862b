"""Embedded llama.cpp: the offline default, any local GGUF file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelUnavailableError
from rag.llm.base import Message


class LlamaCppLLM:
    token_probabilities = True  # first_token_probability reads the logits
    """A GGUF model loaded once; concurrent callers queue for it (llama.cpp is not reentrant)."""

    def __init__(
        self,
        model_path: Path,
        context_window: int = 4096,
        threads: int = 2,
        name: str | None = None,
        gpu_layers: int = 0,
    ) -> None:
        if not model_path.is_file():
            raise ModelUnavailableError(
                f"No GGUF model at {model_path}. Set RAG_LLM_MODEL to an existing .gguf file, "
                "or unset it to use the packaged default."
            )
        try:
            import llama_cpp
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelUnavailableError(
                "llama-cpp-python is not installed. Run: pip install llama-cpp-python==0.3.36"
            ) from exc
        if gpu_layers and not llama_cpp.llama_supports_gpu_offload():
            raise ModelUnavailableError(
                f"RAG_LLM_GPU_LAYERS={gpu_layers}, but this llama-cpp-python was built without "
                'GPU support. Rebuild it for CUDA: LLAMA_CMAKE_ARGS="-DGGML_CUDA=on" '
                "./scripts/setup.sh (see the README), or set RAG_LLM_GPU_LAYERS=0."
            )
        try:
            self._llm: Any = Llama(
                model_path=str(model_path),
                n_ctx=context_window,
                n_threads=threads,
                n_gpu_layers=gpu_layers,
                verbose=False,
                seed=0,
            )
        except Exception as exc:
            raise ModelUnavailableError(f"llama.cpp cannot load {model_path}: {exc}") from exc
        self.name = name or model_path.name
        self.context_window = context_window
        self._lock = threading.Lock()

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        with self._lock:
            chunks = self._llm.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
            )
            for part in chunks:
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta

    def first_token_probability(self, messages: list[Message], text: str) -> float:
        """Probability that the reply to `messages` starts with the first token of `text`.

        Costs one prompt evaluation, which the next `stream` call of the same messages reuses
        (llama.cpp keeps the evaluated prefix).
        """
        from llama_cpp import LogitsProcessorList

        token = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[0]
        seen: list[np.ndarray] = []

        def capture(_ids: Any, scores: np.ndarray) -> np.ndarray:
            if not seen:
                seen.append(np.asarray(scores, dtype=np.float64))
            return scores

        with self._lock:
            self._llm.create_chat_completion(
                messages=messages,
                max_tokens=1,
                temperature=0.0,
                logits_processor=LogitsProcessorList([capture]),
            )
        logits = seen[0]
        probs = np.exp(logits - logits.max())
        return float(probs[token] / probs.sum())

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))
