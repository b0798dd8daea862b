"""Replay the `finish` step (citations and grounding, rag/steps.py) on the stored drafts of a
`rag eval --details` file, without the model: for a change to what happens after the model
writes, this gives every reply the change would alter, and only those.

    .venv/bin/rag eval eval/independent --split test --json --details ind.jsonl
    .venv/bin/python eval/replay_finish.py eval/independent test ind.jsonl

Each question's evidence is found again as the run searched it (its `searched` field: a
follow-up's rewrite), with the expand step off, so replay a run made with
RAG_HYPOTHETICAL_SEARCH=false. Questions the answerability gate stopped have no draft and are
left out. Prints each changed reply with its judgment, then the counts; a reply that comes
back the same but judged otherwise would mean the replay is not the run's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.engine import Engine, _source
from rag.eval import metrics
from rag.eval.corpus import eval_store_settings
from rag.eval.datasets import load_dataset
from rag.hypothesis import keep_question
from rag.settings import RagSettings
from rag.steps import finish


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("split", choices=["dev", "test"])
    parser.add_argument("details", help="a `rag eval --details` file of a run on that split")
    args = parser.parse_args()

    dataset = load_dataset(Path(args.dataset), args.split)
    questions = {q.id: q for q in dataset.questions}
    settings = RagSettings()
    settings = settings.model_copy(
        update={"index": eval_store_settings(settings.index, dataset.name)}
    )
    engine = Engine(settings).with_steps(expand=keep_question)  # no model call
    same = mismatched = gained = lost = 0
    changed = []
    for line in Path(args.details).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        q = questions[row["id"]]
        if not row["draft"]:
            continue  # stopped before the model wrote: finish never ran
        searched = row["searched"]
        found = engine._evidence(searched, None, expand=False)
        evidence = engine._fit(searched, found, list(q.history)[-1:])
        sources = [_source(n, ev) for n, ev in enumerate(evidence, start=1)]
        answer = finish(row["draft"], searched, sources)
        if q.unanswerable:
            right = answer.abstained
        else:
            right = not answer.abstained and metrics.is_right(answer.text, q.answers, q.answers_all)
        reply = "" if answer.abstained else answer.text
        if reply == ("" if row["abstained"] else row["reply"]):
            same += 1
            mismatched += right != row["correct"]
            continue
        gained += right and not row["correct"]
        lost += row["correct"] and not right
        verdict, before = ("right" if ok else "wrong" for ok in (right, row["correct"]))
        changed.append(row["id"])
        print(f"{row['id']} {row['kind']}: now {verdict}, was {before}")
        print(f"   was: {row['reply'] if not row['abstained'] else '(abstained)'}")
        print(f"   now: {reply or '(abstained)'}")
    print(
        f"{dataset.name} {args.split}: {same} replies identical, {len(changed)} changed "
        f"({gained} gained, {lost} lost); {mismatched} identical replies judged otherwise"
    )
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
