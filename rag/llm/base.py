"""What every LLM backend offers the answering layer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

Message = dict[str, str]


class LLMOptions(Protocol):
    """What a backend reads of the settings (rag.settings.RagSettings has these fields)."""

    @property
    def llm(self) -> str: ...
    @property
    def llm_model(self) -> str | None: ...
    @property
    def llm_base_url(self) -> str | None: ...
    @property
    def llm_api_key(self) -> str | None: ...
    @property
    def llm_context(self) -> int: ...
    @property
    def llm_threads(self) -> int: ...
    @property
    def llm_gpu_layers(self) -> int: ...
    @property
    def llm_timeout(self) -> float: ...


class LLM(Protocol):
    """A chat model that streams its reply.

    `token_probabilities` declares whether `first_token_probability` works (llama.cpp, which
    sees the logits) or raises NotImplementedError (chat servers); the answerability check
    uses it when declared and falls back to the evidence floor otherwise.
    """

    name: str
    context_window: int
    token_probabilities: bool

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield the reply in pieces, greedily decoded (temperature 0)."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def first_token_probability(self, messages: list[Message], text: str) -> float:
        """Probability that the reply to `messages` opens with the first token of `text`."""
        ...


@runtime_checkable
class Prefills(Protocol):
    """A backend that can read a prompt's fixed part ahead of any question (llama.cpp)."""

    def prefill(self, messages: list[Message]) -> None: ...


class NoTokenProbabilities:
    """Mixin of backends that cannot see token probabilities (declares and refuses)."""

    token_probabilities = False

    def first_token_probability(self, messages: list[Message], text: str) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not expose token probabilities")
