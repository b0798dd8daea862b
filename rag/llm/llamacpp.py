"""Embedded llama.cpp: the offline default, any local GGUF file.

Reading a prompt (prefill) is most of an answer's wait on a CPU: ~22 ms a token here. llama.cpp
itself skips the part of a prompt that matches what it evaluated last, so consecutive answers
share their instructions for free; but a follow-up's rewrite, with instructions of its own,
pushes the answer's out. So the fixed part of each prompt (everything before its last user
message: system instructions, worked examples) is kept as a saved sequence state, a few MB,
and put back when the context no longer holds it: a prompt's instructions are read once per
process (`PrefixCache`). `calls` records what each call read and how long it took
(bench/latency.py reports it).
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelUnavailableError
from rag.llm.base import Message

_SENTINEL = "\x00rag-prefix-end\x00"


@dataclass(frozen=True)
class Call:
    """One model call: prompt tokens, how many were already evaluated, and its times."""

    kind: str  # "stream" or "probe"
    prompt_tokens: int
    reused_tokens: int  # read from the context or the prefix cache instead of evaluated
    prefill_s: float  # from the call to its first generated piece (stream) or its end (probe)
    completion_tokens: int
    total_s: float

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens


class PrefixCache:
    """Saved llama.cpp sequence states of prompt prefixes, least recently used dropped first."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._states: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.saves = 0
        self.restores = 0

    def get(self, prefix: tuple[int, ...]) -> bytes | None:
        state = self._states.get(prefix)
        if state is not None:
            self._states.move_to_end(prefix)
        return state

    def put(self, prefix: tuple[int, ...], state: bytes) -> None:
        self._states[prefix] = state
        self._states.move_to_end(prefix)
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)

    def __len__(self) -> int:
        return len(self._states)

    def clear(self) -> None:
        self._states.clear()


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class LlamaCppLLM:
    """A GGUF model loaded once; concurrent callers queue for it (llama.cpp is not reentrant)."""

    token_probabilities = True  # first_token_probability reads the logits

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
        self.prefixes = PrefixCache()
        self.calls: deque[Call] = deque(maxlen=1000)
        self._formatter = _chat_formatter(self._llm, llama_cpp)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        with self._lock:
            start = time.perf_counter()
            prompt, reused = self._prepare(messages)
            chunks = self._llm.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
            )
            first: float | None = None
            pieces = 0
            try:
                for part in chunks:
                    delta = part["choices"][0].get("delta", {}).get("content")
                    if delta:
                        pieces += 1
                        first = first or time.perf_counter()
                        yield delta
            finally:
                end = time.perf_counter()
                self.calls.append(
                    Call("stream", prompt, reused, (first or end) - start, pieces, end - start)
                )

    def prefill(self, messages: list[Message]) -> None:
        """Evaluate and keep the fixed part of this prompt now, so no question waits for it."""
        with self._lock:
            self._prepare(messages)

    def _prepare(self, messages: list[Message]) -> tuple[int, int]:
        """Make the context start with the prompt's fixed part, from the prefix cache or by
        evaluating (and saving) it; (prompt tokens, tokens the prompt will not re-evaluate).
        """
        if self._formatter is None:
            return 0, 0
        tokens = self._tokens(messages)
        fixed = self._fixed_prefix(messages, tokens)
        llm = self._llm
        shared = common_prefix(llm._input_ids.tolist(), tokens)
        reused = shared
        if len(fixed) >= 32 and shared < len(fixed):
            state = self.prefixes.get(fixed)
            if state is not None and self._restore(fixed, state):
                self.prefixes.restores += 1
                reused = len(fixed)
            else:  # read it now (this call pays for it) and keep it for the next prompts
                llm.n_tokens = shared
                llm.eval(list(fixed[shared:]))
                self.prefixes.put(fixed, self._save())
                self.prefixes.saves += 1
        # llama.cpp re-reads the last prompt token when the whole prompt is already evaluated.
        return len(tokens), min(reused, len(tokens) - 1)

    def _tokens(self, messages: list[Message]) -> list[int]:
        text = self._formatter(messages=messages).prompt
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _fixed_prefix(self, messages: list[Message], tokens: list[int]) -> tuple[int, ...]:
        """The tokens before the last user message's text: instructions, worked examples."""
        if not messages or messages[-1]["role"] != "user":
            return ()
        marked = [*messages[:-1], {"role": "user", "content": _SENTINEL}]
        text = self._formatter(messages=marked).prompt
        head = text[: text.find(_SENTINEL)]
        head_tokens = self._llm.tokenize(head.encode("utf-8"), add_bos=False, special=True)
        return tuple(tokens[: common_prefix(head_tokens, tokens)])

    def _save(self) -> bytes:
        import llama_cpp

        ctx = self._llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        return bytes(buffer[:written])

    def _restore(self, prefix: tuple[int, ...], state: bytes) -> bool:
        """Put a saved prefix back as the context's content; False if llama.cpp refused."""
        import llama_cpp

        llm = self._llm
        llm._ctx.kv_cache_seq_rm(0, 0, -1)
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if not llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(state), 0):
            llm.reset()  # the context is empty now: the prefix is read again
            return False
        llm.input_ids[: len(prefix)] = prefix
        llm.n_tokens = len(prefix)
        llm._requires_eval = True  # the logits are not of the last token
        return True

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
            start = time.perf_counter()
            prompt, reused = self._prepare(messages)
            self._llm.create_chat_completion(
                messages=messages,
                max_tokens=1,
                temperature=0.0,
                logits_processor=LogitsProcessorList([capture]),
            )
            took = time.perf_counter() - start
            self.calls.append(Call("probe", prompt, reused, took, 1, took))
        logits = seen[0]
        probs = np.exp(logits - logits.max())
        return float(probs[token] / probs.sum())

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def _chat_formatter(llm: Any, llama_cpp: Any) -> Any:
    """The formatter of the GGUF's own chat template, as llama-cpp-python builds it (None
    when the model has none: then prompts are not prefix-cached, only reused as llama.cpp
    does)."""
    from llama_cpp import llama_chat_format

    template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
    if not template or getattr(llm, "chat_format", None) != "chat_template.default":
        return None
    model = llm._model

    def text(token: int) -> str:
        return str(model.token_get_text(token)) if token != -1 else ""

    return llama_chat_format.Jinja2ChatFormatter(
        template=template, eos_token=text(model.token_eos()), bos_token=text(model.token_bos())
    )
