"""Scores of one benchmark run: standard IR measures and answer checks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    """Share of the relevant passages found in the first k (BEIR's definition)."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: dict[str, int]) -> float:
    for rank, pid in enumerate(ranked, start=1):
        if pid in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded relevance (as trec_eval and BEIR compute it)."""
    gains = [relevant.get(pid, 0) for pid in ranked[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _plain(text: str) -> str:
    # A PDF passage breaks its lines anywhere ("2 to\nindicate"): compared as one line.
    return " ".join(text.split()).casefold()


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """The benchmark's rule: any accepted answer string occurs in the text, ignoring case
    and how the whitespace runs."""
    low = _plain(text)
    return any(_plain(a) in low for a in answers if a.strip())


def is_right(text: str, answers: Sequence[str], required: Sequence[str] = ()) -> bool:
    """An accepted answer occurs in the text, and so does every required part."""
    low = _plain(text)
    return (not answers or contains_answer(text, answers)) and all(
        _plain(r) in low for r in required
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def mean(values: Sequence[float]) -> float | None:
    return float(sum(values) / len(values)) if values else None
