"""Time to the first answer token with and without the answerability probe, in one process.

    .venv/bin/python -m bench.first_token

Indexes seeds/ into a temporary store, then asks three answerable questions twice through
two engines that share the default LLM: one as shipped (the probe evaluates the prompt and
the answer reuses it), one whose `decide` step is the rule without the probe (the
evidence-floor path, as before the probe). The KV cache is reset before every question, and
the two engines take turns, so load changes hit both alike.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What did Baykar acquire in Italy?",
    "How many countries has Baykar sold its systems to?",
    "Who chaired the summit?",
]


def main() -> None:
    from rag import IndexSettings, RagSettings, Token, get_engine
    from rag.steps import Answerability

    settings = RagSettings(
        index=IndexSettings(store_dir=tempfile.mkdtemp(prefix="bench-first-token-"))
    )
    shipped = get_engine(settings)
    shipped.add([ROOT / "seeds"])
    llm = shipped.llm
    floor = Answerability(settings, shipped.embedder.name, probe=False)
    engines = {"probe": shipped, "floor": shipped.with_steps(decide=floor)}
    for engine in engines.values():
        engine.warm()
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(2):
        for question in QUESTIONS:
            for name, engine in engines.items():
                llm._llm.reset()  # type: ignore[attr-defined]  # no KV reuse between runs
                t0 = time.perf_counter()
                for event in engine.stream(question):
                    if isinstance(event, Token):
                        seconds[name].append(time.perf_counter() - t0)
                        break
    medians = {name: statistics.median(v) for name, v in seconds.items() if v}
    print(
        json.dumps(
            {
                "first_token_s": {n: [round(x, 2) for x in v] for n, v in seconds.items()},
                "median_s": {n: round(m, 2) for n, m in medians.items()},
                "ratio_probe_to_floor": round(medians["probe"] / medians["floor"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
