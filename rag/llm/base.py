"""What every LLM backend offers the answering layer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

Message = dict[str, str]


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


class NoTokenProbabilities:
    """Mixin of backends that cannot see token probabilities (declares and refuses)."""

    token_probabilities = False

    def first_token_probability(self, messages: list[Message], text: str) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not expose token probabilities")
