"""Time to the first answer token with and without the answerability probe, in one process.

    .venv/bin/python -m bench.first_token

Indexes seeds/ into a temporary store, then asks three answerable questions twice through
two engines that share the default LLM: one as shipped (the probe evaluates the prompt and
the answer reuses it), one whose LLM declares no token probabilities (the evidence-floor
path, as before the probe). The KV cache is reset before every question, and the two engines
take turns, so load changes hit both alike.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What did Baykar acquire in Italy?",
    "How many countries has Baykar sold its systems to?",
    "Who chaired the summit?",
]


class _WithoutProbe:
    """The same model, declared without token probabilities."""

    token_probabilities = False

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.context_window = inner.context_window

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        stream: Iterator[str] = self.inner.stream(messages, max_tokens)
        return stream

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def first_token_probability(self, messages: list[dict[str, str]], text: str) -> float:
        raise NotImplementedError("declared without token probabilities")


def main() -> None:
    from rag import IndexSettings, RagSettings, Token, get_engine
    from rag.engine import Engine
    from rag.llm import load_llm

    settings = RagSettings(
        index=IndexSettings(store_dir=tempfile.mkdtemp(prefix="bench-first-token-"))
    )
    get_engine(settings).add([ROOT / "seeds"])
    llm = load_llm(settings, settings.index.cache_dir)
    engines = {
        "probe": Engine(settings, llm=llm),
        "floor": Engine(settings, llm=_WithoutProbe(llm)),
    }
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
