"""End-to-end query latency (retrieve, select evidence, generate) with the default models.

    .venv/bin/python -m bench.e2e --repeat 2

Indexes seeds/ into a temporary store, answers each question once to warm up the models,
then times `rag.query` over the questions `--repeat` times.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What did Baykar acquire in Italy?",
    "Which company did Baykar sign an agreement with?",
    "What is Baykar best known for?",
    "Where was the agreement signed?",
    "Who won the 2010 football World Cup?",  # not in the documents: an abstention
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from rag import IndexSettings, RagSettings, get_engine, query

    settings = RagSettings(index=IndexSettings(store_dir=tempfile.mkdtemp(prefix="bench-e2e-")))
    engine = get_engine(settings)
    engine.add([ROOT / "seeds"])
    engine.llm  # noqa: B018 - load the model before timing
    query(QUESTIONS[0], settings)
    retrieval, total = [], []
    for _ in range(args.repeat):
        for q in QUESTIONS:
            t = time.perf_counter()
            engine.retrieve(q)
            retrieval.append(time.perf_counter() - t)
            t = time.perf_counter()
            query(q, settings)
            total.append(time.perf_counter() - t)

    def pct(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(p * len(xs)))], 3)

    print(
        json.dumps(
            {
                "n": len(total),
                "retrieval_s": {"p50": pct(retrieval, 0.5), "p95": pct(retrieval, 0.95)},
                "end_to_end_s": {"p50": pct(total, 0.5), "p95": pct(total, 0.95)},
            }
        )
    )


if __name__ == "__main__":
    main()
