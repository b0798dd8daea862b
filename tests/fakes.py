"""Test doubles that are real implementations of the protocols, not mocks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import numpy as np

from rag.llm.base import Message

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are close. Counts its work."""

    name = "test/hash-embedder"

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.passages_embedded = 0

    def _vec(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            vec[h % self.dim] += 1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.passages_embedded += len(texts)
        return np.vstack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))


class OtherHashEmbedder(HashEmbedder):
    name = "test/other-embedder"


class ScriptedLLM:
    """Replies with queued answers in order, streamed word by word; records every prompt."""

    name = "scripted"
    context_window = 4096
    token_probabilities = False

    def __init__(self, replies: list[str] | None = None) -> None:
        self.replies = list(replies or [])
        self.prompts: list[list[Message]] = []

    def enqueue(self, *replies: str) -> ScriptedLLM:
        self.replies.extend(replies)
        return self

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        self.prompts.append(messages)
        reply = self.replies.pop(0) if self.replies else "I don't know"
        yield from re.findall(r"\S+\s*", reply)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def first_token_probability(self, messages: list[Message], text: str) -> float:
        raise NotImplementedError("ScriptedLLM declares no token probabilities")
