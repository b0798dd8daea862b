"""Retrieval: dense search, nudged by keyword matches, re-ranked by the best sentence.

Plain rank fusion with BM25 hurts cross-lingual questions (DESIGN.md: R@1 0.855 -> 0.633),
because for an English question over Dutch text most BM25 matches are noise. Here the dense
cosine stays the backbone; BM25, scaled to the best keyword match of the question, only adds
a small bonus, so a shared name or number can lift a passage past a near tie. Then the top
passages are re-scored by their best sentence: questions usually hinge on one sentence,
and a passage vector averages it with the rest.

A multilingual embedder scores a passage in the question's own language higher than one in
another (multilingual-e5-small: ~0.04 cosine, the offset rag/abstain.py measured), so in a
corpus of several languages a German question found German text about something else before
the English passage that answers it. Chunks in another language than the question get half
that offset back (0.02; on the real-document dev set 0.04 also lifted a Dutch chunk over the
English answer to an English question). When all documents share one language (XQuAD,
SciFact) it moves nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from index import Hit, Store
from index.keyword import SyncedKeywordIndex
from rag.evidence import SentenceScorer
from rag.language import language_code, passage_language
from rag.timing import stage


@dataclass(frozen=True)
class RetrievalWeights:
    candidates: int  # chunks taken from each of dense and keyword search
    keyword_weight: float  # bonus for the best keyword match, in units of cosine
    sentence_weight: float  # share of the best-sentence score in the re-ranking
    rerank: int  # top chunks re-scored by their best sentence
    crosslingual: float = 0.0  # bonus for chunks in another language than the question


class HybridRetriever:
    def __init__(self, store: Store, scorer: SentenceScorer, weights: RetrievalWeights) -> None:
        self.store = store
        self.scorer = scorer
        self.weights = weights
        self.keywords = SyncedKeywordIndex(store) if weights.keyword_weight > 0 else None
        self._languages: dict[str, str | None] = {}  # chunk id -> language code

    def __call__(self, question: str, k: int, sources: Collection[str] | None = None) -> list[Hit]:
        """The k best chunks for the question, best first (Hit.score: dense cosine)."""
        # Both searches filter by source themselves, so a scoped question still gets the
        # full number of candidates from the chosen documents.
        w = self.weights
        with stage("embed"):
            vector = self.scorer.query_vector(question)
        with stage("search"):
            pool = self.store.search(vector, max(k, w.candidates), sources)
        if not pool:
            return []
        # The same text stored twice (one file copied into two indexed folders) is one
        # candidate: three copies of one passage would otherwise be the whole evidence.
        kept: dict[str, str] = {}  # chunk text -> the id that stands for it
        for h in pool:
            kept.setdefault(h.chunk.text, h.chunk.id)
        hits = {h.chunk.id: h for h in pool if kept[h.chunk.text] == h.chunk.id}
        score = {cid: h.score for cid, h in hits.items()}
        if self.keywords is not None:
            floor = min(score.values())  # a keyword-only hit ranks as the weakest dense one
            with stage("keywords"):  # refreshed when the store changed, then searched
                matches = self.keywords.current().search(question, w.candidates, sources)
            top = matches[0].score if matches else 0.0
            scored: set[str] = set()
            for m in matches:
                cid = kept.setdefault(m.chunk.text, m.chunk.id)
                if cid in scored:
                    continue  # a copy of a text already scored
                scored.add(cid)
                if cid not in hits:
                    hits[cid] = Hit(m.chunk, floor)
                    score[cid] = floor
                score[cid] += w.keyword_weight * m.score / top
        bonus = self._crosslingual(question, hits) if w.crosslingual else {}
        for cid, b in bonus.items():
            score[cid] += b
        order = sorted(score, key=lambda cid: -score[cid])
        if w.sentence_weight > 0 and w.rerank > 1:
            head = order[: w.rerank]
            with stage("rerank"):
                best = self._best_sentences(vector, [hits[cid] for cid in head])
            fused = {
                cid: (1 - w.sentence_weight) * score[cid]
                + w.sentence_weight * (b + bonus.get(cid, 0.0))
                for cid, b in zip(head, best, strict=True)
            }
            order = sorted(head, key=lambda cid: -fused[cid]) + order[w.rerank :]
        return [hits[cid] for cid in order[:k]]

    def _crosslingual(self, question: str, hits: dict[str, Hit]) -> dict[str, float]:
        """The bonus of each chunk written in another language than the question."""
        asked = language_code(question)
        if asked is None:
            return {}
        if len(self._languages) > 50_000:
            self._languages.clear()
        with stage("languages"):
            for cid, h in hits.items():
                if cid not in self._languages:
                    self._languages[cid] = passage_language(h.chunk.text)
        return {
            cid: self.weights.crosslingual
            for cid in hits
            if self._languages[cid] not in (None, asked)
        }

    def _best_sentences(self, vector: np.ndarray, hits: list[Hit]) -> list[float]:
        """Each chunk's best sentence similarity (sentence vectors are cached by the scorer)."""
        texts = [[s.text for s in h.chunk.sentences()] or [h.chunk.text] for h in hits]
        flat = [t for group in texts for t in group]
        sims = self.scorer.vectors(flat) @ vector
        out, i = [], 0
        for group in texts:
            out.append(float(sims[i : i + len(group)].max()))
            i += len(group)
        return out
