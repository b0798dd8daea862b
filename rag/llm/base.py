"""What every LLM backend offers the answering layer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

Message = dict[str, str]


class LLM(Protocol):
    """A chat model that streams its reply."""

    name: str
    context_window: int

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield the reply in pieces, greedily decoded (temperature 0)."""
        ...

    def count_tokens(self, text: str) -> int: ...
