"""Simulate answerability rules over `rag eval --details` runs made with the gate off.

The gate decides before the answer is written, from signals every run records (best evidence
similarity, mean passage similarity, P(refusal)), so a run with `RAG_MIN_ANSWERABILITY=-100`
shows what any rule of rag/abstain.py's form would have done. Cross-lingual is judged as
at run time (lingua on the searched question and on the evidence).

    RAG_MIN_ANSWERABILITY=-100 rag eval eval/realdocs --split dev --details rd.jsonl
    RAG_MIN_ANSWERABILITY=-100 rag eval XQ --split dev --details xq.jsonl
    RAG_MIN_ANSWERABILITY=-100 rag eval XQ --split dev --drop-gold --details xqdrop.jsonl
    .venv/bin/python eval/calibrate_abstention.py rd.jsonl xq.jsonl xqdrop.jsonl

XQ is a folder with xquad-nl's passages.jsonl and every 5th dev question
(`awk 'NR%5==1' dev.jsonl`). Prints, per set, answer accuracy on the answerable questions,
wrong abstentions, and abstention where the right reply is one, for the shipped rule and the
best rules of a grid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.abstain import CALIBRATIONS, PACKAGED_LLM, Calibration, answerability
from rag.language import language_code

Record = dict[str, Any]


def load(path: str, hidden_gold: bool = False) -> list[Record]:
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        s = r["signals"]
        r["should_abstain"] = hidden_gold or r.get("kind") == "unanswerable"
        r["ev"], r["refusal"] = s["evidence"], s["refusal"]
        evidence = " ".join(str(e).split(": ", 1)[-1] for e in r["evidence"])[:2000]
        r["cross"] = language_code(r["searched"] or r["question"]) != language_code(evidence)
        records.append(r)
    return records


def evaluate(groups: dict[str, list[Record]], w: float, delta: float, floor: float) -> dict:
    out = {}
    for name, records in groups.items():
        rule = Calibration(floor=floor, refusal=w, crosslingual=delta)
        gated = [answerability(r["ev"], r["refusal"], rule, r["cross"]) < floor for r in records]
        ans = [(r, g) for r, g in zip(records, gated, strict=True) if not r["should_abstain"]]
        un = [(r, g) for r, g in zip(records, gated, strict=True) if r["should_abstain"]]
        out[name] = {
            "acc": np.mean([bool(r["correct"]) and not g for r, g in ans]),
            "wrong": np.mean([bool(r["abstained"]) or g for r, g in ans]),
            "unans": np.mean([bool(r["abstained"]) or g for r, g in un]),
        }
    return out


def line(label: str, res: dict) -> str:
    cells = "  ".join(
        f"{g}: acc {v['acc']:.3f} wrong {v['wrong']:.3f} abstain-where-right {v['unans']:.3f}"
        for g, v in res.items()
    )
    return f"{label:<42} {cells}"


def main(realdocs: str, xquad: str, xquad_drop: str) -> None:
    groups = {"realdocs": load(realdocs), "xquad": load(xquad) + load(xquad_drop, True)}
    rule = CALIBRATIONS[("intfloat/multilingual-e5-small", PACKAGED_LLM)]
    print(line("shipped", evaluate(groups, rule.refusal, rule.crosslingual, rule.floor)))
    print(line("previous (0.01, no offset, 0.835)", evaluate(groups, 0.01, 0.0, 0.835)))
    grid = []
    for w in (0.005, 0.01, 0.015, 0.02, 0.03):
        for delta in (0.0, 0.02, 0.03, 0.04, 0.05, 0.06):
            for floor in np.arange(0.82, 0.96, 0.0025):
                res = evaluate(groups, w, delta, float(floor))
                utility = np.mean([(v["acc"] + v["unans"]) / 2 for v in res.values()])
                worst = max(v["wrong"] for v in res.values())
                grid.append((utility, worst, w, delta, round(float(floor), 4), res))
    grid.sort(key=lambda c: -c[0])
    for limit in (0.10, 0.12):
        print(f"best by (accuracy + abstention where right) / 2, wrong abstentions <= {limit}:")
        for utility, _, w, delta, floor, res in [c for c in grid if c[1] <= limit][:5]:
            label = f"  w {w} offset {delta} floor {floor} ({utility:.3f})"
            print(line(label, res))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
