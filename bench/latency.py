"""Where an answer's wait goes: every stage, p50/p95, over seed and real-document questions.

    .venv/bin/python -m bench.latency                  # both passes + 3 fresh processes
    .venv/bin/python -m bench.latency --passes cached --fresh 0 --limit 8   # quick look

Indexes seeds/ and eval/realdocs/docs/ into a store kept under RAG_CACHE_DIR/bench (only
changed files are re-read on later runs) and asks the seed questions and every 4th question
of the real-document dev set (follow-ups with their history), 34 in all, on the default
models, in one warm process (warmed as `rag ui` warms):

- pass `uncached`: llama.cpp's own prompt reuse only (the context keeps the last prompt), as
  before the prefix cache (issue 12); pass `cached`: the product as shipped, the fixed part of
  each prompt kept in the prefix cache (rag/llm/llamacpp.py). The same questions in the
  same order, the model's context reset before each pass; the replies of both are compared.
- `--fresh N`: N child processes that each start, warm up as `rag ui` does, and ask one
  question: the first question after start, against the same question in the warm pass.

For each question it records when the sources were known (the Retrieved event), the first
answer token and the end, the stage times of rag/timing.py, and every model call (prompt
tokens, tokens reused, prefill time). The prefill rate is measured from this run's calls
that evaluated at least 64 tokens; a question's floor is the prompt tokens it had to
evaluate before its first token, divided by that rate, and first token / floor says how
much of the wait is something other than reading the prompt.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED_QUESTIONS = [
    "What did Baykar acquire in Italy?",
    "How many countries has Baykar sold its systems to?",
    "Who chaired the summit?",
]


def questions(limit: int | None = None) -> list[dict[str, Any]]:
    from rag.eval.datasets import load_dataset

    dev = load_dataset(ROOT / "eval" / "realdocs", "dev")
    picked: list[dict[str, Any]] = [
        {"id": f"seed-{i}", "kind": "seed", "question": q, "history": []}
        for i, q in enumerate(SEED_QUESTIONS, start=1)
    ]
    picked += [
        {"id": q.id, "kind": q.kind, "question": q.text, "history": [list(t) for t in q.history]}
        for q in dev.questions[::4]
    ]
    return picked[:limit] if limit else picked


def build_engine() -> Any:
    from rag import Engine, IndexSettings, RagSettings

    base = IndexSettings()
    store = base.cache_dir / "bench" / "latency-store"
    settings = RagSettings(index=IndexSettings(store_dir=store))
    engine = Engine(settings)
    engine.add([ROOT / "seeds", ROOT / "eval" / "realdocs" / "docs"])
    return engine


def ask(engine: Any, record: dict[str, Any]) -> dict[str, Any]:
    """One question through `stream_events`, timed; the model calls it made."""
    from rag import Answer, Retrieved, Token

    llm = engine.llm
    calls_before = len(llm.calls)
    t0 = time.perf_counter()
    t_sources = t_first = None
    answer: Answer | None = None
    history = [tuple(t) for t in record["history"]]
    for event in engine.stream_events(record["question"], history):
        now = time.perf_counter() - t0
        if isinstance(event, Retrieved):
            t_sources = now
        elif isinstance(event, Token):
            t_first = t_first if t_first is not None else now
        else:
            answer = event
    total = time.perf_counter() - t0
    assert answer is not None
    calls = list(llm.calls)[calls_before:]
    # The calls made before the first token: the rewrite (a follow-up's first stream call),
    # the hypothetical answer searched with (the expand step), the probe, and the answer's
    # own stream call, the first one after the probe.
    probes = [i for i, c in enumerate(calls) if c.kind == "probe"]
    streams = [i for i, c in enumerate(calls) if c.kind == "stream" and i > max(probes, default=-1)]
    upto = streams[0] + 1 if streams and probes else len(calls)
    before_first = calls[:upto]
    return {
        "id": record["id"],
        "kind": record["kind"],
        "follow_up": bool(record["history"]),
        "sources_s": t_sources,
        "first_token_s": t_first,
        "total_s": total,
        "abstained": answer.abstained,
        "reply": answer.text,
        "stages": answer.timings,
        "calls": [
            {
                "kind": c.kind,
                "prompt": c.prompt_tokens,
                "reused": c.reused_tokens,
                "evaluated": c.evaluated_tokens,
                "prefill_s": round(c.prefill_s, 4),
                "completion": c.completion_tokens,
                "total_s": round(c.total_s, 4),
            }
            for c in calls
        ],
        "evaluated_before_first": sum(c.evaluated_tokens for c in before_first),
        "prompt_before_first": sum(c.prompt_tokens for c in before_first),
        "reused_before_first": sum(c.reused_tokens for c in before_first),
    }


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, round(p * (len(xs) - 1)))], 3)


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from rag.timing import STAGES

    calls = [c for r in rows for c in r["calls"]]
    big = [c for c in calls if c["evaluated"] >= 64]
    rate = sum(c["evaluated"] for c in big) / sum(c["prefill_s"] for c in big) if big else None
    decoding = [c for c in calls if c["kind"] == "stream" and c["completion"] > 1]
    decode_rate = (
        sum(c["completion"] - 1 for c in decoding)
        / sum(c["total_s"] - c["prefill_s"] for c in decoding)
        if decoding
        else None
    )
    stages = {
        name: {"p50": pct(v, 0.5), "p95": pct(v, 0.95)}
        for name in STAGES
        if (v := [r["stages"][name] for r in rows if name in r["stages"]])
    }
    answered = [r for r in rows if r["first_token_s"] is not None]
    ratios = []
    for r in answered:
        r["floor_s"] = round(r["evaluated_before_first"] / rate, 3) if rate else None
        if r["floor_s"]:
            ratios.append(r["first_token_s"] / r["floor_s"])
    follow = [r["first_token_s"] for r in answered if r["follow_up"]]
    return {
        "questions": len(rows),
        "answered": len(answered),
        "sources_s": {
            "p50": pct([r["sources_s"] for r in rows if r["sources_s"] is not None], 0.5),
            "p95": pct([r["sources_s"] for r in rows if r["sources_s"] is not None], 0.95),
        },
        "first_token_s": {
            "p50": pct([r["first_token_s"] for r in answered], 0.5),
            "p95": pct([r["first_token_s"] for r in answered], 0.95),
        },
        "first_token_follow_ups_s": {"p50": pct(follow, 0.5), "p95": pct(follow, 0.95)},
        "total_s": {
            "p50": pct([r["total_s"] for r in rows], 0.5),
            "p95": pct([r["total_s"] for r in rows], 0.95),
        },
        "stages_s": stages,
        "prompt_tokens_before_first": {
            "p50": pct([r["prompt_before_first"] for r in answered], 0.5),
            "reused_p50": pct([r["reused_before_first"] for r in answered], 0.5),
            "evaluated_p50": pct([r["evaluated_before_first"] for r in answered], 0.5),
            "evaluated_p95": pct([r["evaluated_before_first"] for r in answered], 0.95),
        },
        "prefill_tokens_per_s": round(rate, 1) if rate else None,
        "decode_tokens_per_s": round(decode_rate, 1) if decode_rate else None,
        "floor_s": {
            "p50": pct([r["floor_s"] for r in answered if r.get("floor_s")], 0.5),
            "p95": pct([r["floor_s"] for r in answered if r.get("floor_s")], 0.95),
        },
        "first_token_over_floor": {"p50": pct(ratios, 0.5), "p95": pct(ratios, 0.95)},
    }


def run_pass(engine: Any, records: list[dict[str, Any]], cached: bool) -> list[dict[str, Any]]:
    llm = engine.llm
    llm.prefixes.clear()
    llm.prefixes.capacity = 4 if cached else 0
    llm._llm.reset()  # the pass starts with an empty context
    engine.scorer._queries.clear()  # question vectors are embedded again
    engine.warm()  # as `rag ui` does at start
    rows = []
    for record in records:
        row = ask(engine, record)
        rows.append(row)
        print(
            f"  {row['id']:>9} {'f' if row['follow_up'] else ' '} sources {row['sources_s']:.2f} s"
            f" · first token {row['first_token_s'] or float('nan'):.2f} s"
            f" · total {row['total_s']:.2f} s · evaluated {row['evaluated_before_first']}",
            file=sys.stderr,
        )
    return rows


def fresh_child(index: int) -> None:
    """A new process: start, warm up as `rag ui` does, ask question `index`; print JSON."""
    t0 = time.perf_counter()
    engine = build_engine()
    engine.warm()
    ready = time.perf_counter() - t0
    row = ask(engine, questions()[index])
    row["ready_s"] = round(ready, 2)
    print(json.dumps(row))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passes", nargs="+", choices=["uncached", "cached"], default=None)
    ap.add_argument("--fresh", type=int, default=3, help="fresh processes (first questions)")
    ap.add_argument("--limit", type=int, default=None, help="first N questions only")
    ap.add_argument("--details", type=Path, help="write every question's record here (JSON)")
    ap.add_argument("--fresh-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fresh_child is not None:
        fresh_child(args.fresh_child)
        return
    records = questions(args.limit)
    engine = build_engine()
    engine.warm()
    out: dict[str, Any] = {"questions": len(records)}
    rows: dict[str, list[dict[str, Any]]] = {}
    for name in args.passes or ["uncached", "cached"]:
        print(f"pass {name}:", file=sys.stderr)
        rows[name] = run_pass(engine, records, cached=name == "cached")
        out[name] = summarize(rows[name])
    if len(rows) == 2:
        a, b = rows["uncached"], rows["cached"]
        same = sum(x["reply"] == y["reply"] for x, y in zip(a, b, strict=True))
        out["replies_identical"] = f"{same}/{len(a)}"
    fresh = []
    for i in range(min(args.fresh, len(records))):
        child = subprocess.run(
            [sys.executable, "-m", "bench.latency", "--fresh-child", str(i)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        fresh.append(json.loads(child.stdout.strip().splitlines()[-1]))
    if fresh:
        later = {r["id"]: r for r in rows.get("cached", [])}
        out["fresh_process"] = [
            {
                "id": r["id"],
                "ready_s": r["ready_s"],
                "first_token_s": r["first_token_s"],
                "warm_pass_first_token_s": later.get(r["id"], {}).get("first_token_s"),
            }
            for r in fresh
        ]
        pairs = [
            (f["first_token_s"], later[f["id"]]["first_token_s"])
            for f in fresh
            if f["id"] in later and f["first_token_s"] and later[f["id"]]["first_token_s"]
        ]
        if pairs:
            out["first_over_later"] = round(statistics.median(x / y for x, y in pairs), 2)
    if args.details:
        args.details.write_text(json.dumps({**rows, "fresh": fresh}, indent=1), "utf-8")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
