"""Evidence selection: the few sentences of the retrieved passages that bear on the question.

A 1.5B model answers well from three short sentences and invents things from whole
passages (DESIGN.md), so the prompt carries sentences, numbered by the passage they are from.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import Embedder, Hit
from index.chunk import Sentence


@dataclass(frozen=True)
class Evidence:
    """A retrieved passage and the sentences of it chosen for the prompt (document order)."""

    hit: Hit
    sentences: tuple[Sentence, ...]
    score: float  # best sentence similarity


class SentenceScorer:
    """Scores sentences against a question, caching sentence vectors across questions."""

    def __init__(self, embedder: Embedder, cache_size: int = 20_000) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def query_vector(self, question: str) -> np.ndarray:
        """The question's vector; retrieval and evidence selection embed it once between them."""
        vector = self._queries.get(question)
        if vector is None:
            vector = self._queries[question] = self._embedder.embed_query(question)
            while len(self._queries) > 64:
                self._queries.popitem(last=False)
        return vector

    def vectors(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vec in zip(missing, self._embedder.embed_passages(missing), strict=True):
                self._cache[text] = vec
        for text in texts:
            self._cache.move_to_end(text)  # least recently used goes first
        out = np.vstack([self._cache[t] for t in texts])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out

    def save(self, path: Path) -> None:
        """Keep the cached sentence vectors on disk (eval runs reuse them across processes)."""
        texts = list(self._cache)
        if texts:
            np.savez(path, texts=np.array(texts), vectors=np.vstack(list(self._cache.values())))

    def load(self, path: Path) -> None:
        if path.is_file():
            data = np.load(path)
            for text, vec in zip(data["texts"].tolist(), data["vectors"], strict=True):
                self._cache[str(text)] = vec


def select_evidence(
    question_vec: np.ndarray,
    hits: list[Hit],
    scorer: SentenceScorer,
    max_passages: int,
    max_sentences: int,
    margin: float = 0.06,
    following: int = 1,
) -> list[Evidence]:
    """Pick up to `max_sentences` sentences from the best `max_passages` passages.

    A sentence is kept when it is among the best overall and within `margin` of the best
    sentence, so weakly related padding does not reach the model. Passages keep their rank.
    In the best passage, the `following` sentences after each chosen one come along: the
    sentence most like the question often only sets up the answer ("He is the oldest
    quarterback ever to play…" / "The previous record was held by John Elway"). On xquad-nl
    dev that raised the share of questions whose evidence holds an answer from 0.890 to 0.927.
    """
    passages = hits[:max_passages]
    split = [
        h.chunk.sentences() or [Sentence(h.chunk.text, 0, len(h.chunk.text))] for h in passages
    ]
    # Overlapping chunks repeat sentences; each sentence is scored once, in its best passage.
    seen: set[str] = set()
    flat = []
    for i, sents in enumerate(split):
        for s in sents:
            if s.text not in seen:
                seen.add(s.text)
                flat.append((i, s))
    if not flat:
        return []
    scores = scorer.vectors([s.text for _, s in flat]) @ question_vec
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    chosen: dict[int, list[tuple[Sentence, float]]] = {}
    for idx in order[:max_sentences]:
        if float(scores[idx]) < best - margin and chosen:
            break
        i, sentence = flat[idx]
        chosen.setdefault(i, []).append((sentence, float(scores[idx])))
    top = min(chosen)
    picked = {i: [s for s, _ in chosen[i]] for i in chosen}
    elsewhere = {s.text for i, group in picked.items() if i != top for s in group}
    picked[top] = [
        s for s in _with_following(split[top], picked[top], following) if s.text not in elsewhere
    ]
    return [
        Evidence(
            hit=passages[i],
            sentences=tuple(sorted(picked[i], key=lambda s: s.start)),
            score=max(sc for _, sc in chosen[i]),
        )
        for i in sorted(chosen)
    ]


def _with_following(sentences: list[Sentence], chosen: list[Sentence], n: int) -> list[Sentence]:
    """The chosen sentences plus the `n` sentences after each one in the passage."""
    original = {c.start for c in chosen}
    kept = set(original)
    extra: list[Sentence] = []
    for i, s in enumerate(sentences):
        if s.start in original:
            for x in sentences[i + 1 : i + 1 + n]:
                if x.start not in kept:
                    kept.add(x.start)
                    extra.append(x)
    return [*chosen, *extra]
