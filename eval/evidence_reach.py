"""How far the answer gets without the model: where the first passage holding an accepted
answer ranks, and whether the evidence the prompt would carry holds one.

Retrieval and evidence settings come from the environment as for `rag eval`, so a setting is
compared by running this twice (no LLM is loaded; a realdocs dev pass takes about a minute):

    .venv/bin/python eval/evidence_reach.py eval/realdocs dev --details dev.jsonl
    RAG_RERANK_PASSAGES=20 .venv/bin/python eval/evidence_reach.py eval/realdocs dev \\
        --details dev.jsonl

A follow-up is searched as its text in `--details` (a `rag eval --details` file) says it was,
since the rewrite needs the model; without that file follow-ups are left out. Unanswerable
questions are left out. `--ids` lists the questions whose answer passage is not in the top 3.

Without the model, every question is searched as asked. `--hypothetical` searches as the
product does (the expand step, rag/hypothesis.py): a first question in the language of its
best passage with a short answer the LLM imagines for it added, for retrieval and for choosing
the evidence sentences alike. It loads the LLM (about 2 s a question here) and prints each
question whose figures move (docs/EVAL.md, sessions 18 and 19).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.engine import Engine
from rag.eval.corpus import eval_store_settings
from rag.eval.datasets import load_dataset
from rag.eval.metrics import contains_answer
from rag.hypothesis import Hypothesize, keep_question
from rag.settings import RagSettings

_POOL = 30  # passages ranked per question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("split", choices=["dev", "test"])
    parser.add_argument("--details", help="a `rag eval --details` file (follow-ups' searches)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--ids", action="store_true", help="list the answers not in the top 3")
    parser.add_argument(
        "--hypothetical", action="store_true", help="search as the expand step does (HyDE)"
    )
    args = parser.parse_args()

    searched: dict[str, str] = {}
    if args.details:
        for line in Path(args.details).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            searched[row["id"]] = row["searched"]
    dataset = load_dataset(Path(args.dataset), args.split)
    settings = RagSettings()
    settings = settings.model_copy(
        update={"index": eval_store_settings(settings.index, dataset.name)}
    )
    engine = Engine(settings).with_steps(expand=keep_question)  # the model only if asked
    expand = Hypothesize()
    questions = [q for q in dataset.questions[: args.limit or None] if not q.unanswerable]
    ranks: dict[str, int] = {}
    held = 0
    for q in questions:
        if q.history and q.id not in searched:
            continue
        text = searched[q.id] if q.history else q.text
        if args.hypothetical:
            plain = _rank(engine, text, q.answers), _held(engine, text, q.answers)
            asked = text
            if not q.history:  # a follow-up is searched as rewritten (rag/engine.py prepare)
                text = expand(text, engine.retrieve(text), engine.llm)
            passage = text[len(asked) :].strip()
        ranks[q.id] = _rank(engine, text, q.answers)
        holds = _held(engine, text, q.answers)
        held += holds
        if args.hypothetical and plain != (ranks[q.id], holds):
            print(
                f"  {q.id}: rank {plain[0] + 1} -> {ranks[q.id] + 1}, evidence holds an answer "
                f"{plain[1]} -> {holds}; searched with: {passage[:100]!r}"
            )
    n = len(ranks)
    within = {k: sum(r < k for r in ranks.values()) for k in (1, 3, 6, 10)}
    print(
        f"{dataset.name} {args.split}: {n} answerable questions; first passage holding an "
        f"answer in the top 1/3/6/10: {within[1]}/{within[3]}/{within[6]}/{within[10]}, "
        f"not in the top {_POOL}: {sum(r == _POOL for r in ranks.values())}; "
        f"evidence holds an answer: {held}/{n}"
    )
    if args.ids:
        for qid, rank in ranks.items():
            if rank >= 3:
                print(f"  {qid}: rank {rank + 1 if rank < _POOL else f'> {_POOL}'}")


def _rank(engine: Engine, text: str, answers: tuple[str, ...]) -> int:
    """Where the first passage holding an answer ranks (0: first; _POOL: not found)."""
    hits = engine.steps.retrieve(text, _POOL, None)
    return next((i for i, h in enumerate(hits) if contains_answer(h.chunk.text, answers)), _POOL)


def _held(engine: Engine, text: str, answers: tuple[str, ...]) -> bool:
    shown = " ".join(s.text for ev in engine.evidence(text) for s in ev.sentences)
    return contains_answer(shown, answers)


if __name__ == "__main__":
    main()
