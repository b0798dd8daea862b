"""Keyword (BM25) search over the store's chunks, for names and numbers dense vectors blur.

Built from the chunks the store holds (so it works the same for an embedded store and a
Chroma server) and rebuilt when the store's content changes. Questions are often in another
language than the documents, so analysis is language-free: lower-cased words minus the stop
words of many languages. (Stemming with the corpus language's or English's Snowball stemmer,
and cutting words to a 5-letter prefix, both scored lower on xquad-nl dev: docs/EVAL.md.)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.chunk import Chunk
from index.store import Store

_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    import bm25s.stopwords as lists

    words: set[str] = set()
    for name in dir(lists):
        if name.startswith("STOPWORDS_"):
            words.update(getattr(lists, name))
    return frozenset(words)


def analyze(text: str) -> list[str]:
    """Lower-cased words without the stop words of any language bm25s knows."""
    stop = _stopwords()
    return [w for w in _WORD.findall(text.lower()) if w not in stop]


@dataclass(frozen=True)
class KeywordHit:
    chunk: Chunk
    score: float  # BM25


class KeywordIndex:
    """BM25 over a fixed list of chunks (bm25s: sparse matrices, fast to build and query)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        import bm25s

        self.chunks = chunks
        self._sources = np.array([c.source for c in chunks], dtype=object)
        self._bm25 = bm25s.BM25()
        if chunks:
            self._bm25.index([analyze(c.text) or ["\0"] for c in chunks], show_progress=False)

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every chunk, in `self.chunks` order."""
        terms = analyze(text)
        if not self.chunks or not terms:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def search(self, text: str, k: int, sources: Collection[str] | None = None) -> list[KeywordHit]:
        """The k best matches; only among chunks of `sources` when given."""
        scores = self.scores(text)
        if sources:
            scores = np.where(np.isin(self._sources, list(sources)), scores, 0.0)
        order = np.argsort(-scores)[:k]
        return [KeywordHit(self.chunks[i], float(scores[i])) for i in order if scores[i] > 0]


class SyncedKeywordIndex:
    """The keyword index of one store, rebuilt whenever the store's content changes.

    Whether it changed is read from the store's manifest (one row per file, rewritten on
    every add, change or removal), not from the list of every chunk id.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._fingerprint = ""
        self._index = KeywordIndex([])
        self._lock = threading.Lock()

    def current(self) -> KeywordIndex:
        fingerprint = self._store.fingerprint()
        with self._lock:
            if fingerprint != self._fingerprint:
                self._index = KeywordIndex(self._store.all_chunks())
                self._fingerprint = fingerprint
            return self._index
