"""Where an answer's time goes: each step notes how long its stages took.

`Engine.stream` opens a `Timings` for every question and runs the steps inside
`recording(timings)`; code anywhere below it marks a stage with `with stage("search"):`.
Outside a recording `stage` costs one context-variable read and records nothing, so the
steps stay usable on their own. The recording never spans a `yield`: the part of an answer
before its first token runs in one call, in one thread (a streaming caller such as Gradio may
resume a generator in another thread, which would not see the variable).

The stages, in the order an answer meets them (bench/latency.py reports each): clean;
condense (the follow-up rewrite); language (of the question); embed (the question's vector);
search (the vector store); keywords (the keyword index, refreshed when the store changed);
rerank (best-sentence scores); expand (the hypothetical answer a same-language question is
searched with; that second search adds to the four stages before); screen; select
(evidence); decide (answerability, including the model's probe); first_token (from asking
the model to its first piece: prefill); decode (the rest of the reply, re-asks included);
finish (citations, grounding).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

STAGES = (
    "clean",
    "condense",
    "language",
    "embed",
    "search",
    "keywords",
    "languages",
    "rerank",
    "expand",
    "screen",
    "select",
    "decide",
    "first_token",
    "decode",
    "finish",
)


@dataclass
class Timings:
    """Seconds per stage of one answer (a stage that runs twice is summed)."""

    stages: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + seconds


_current: ContextVar[Timings | None] = ContextVar("rag_timings", default=None)


@contextmanager
def recording(timings: Timings) -> Iterator[Timings]:
    """Stages marked inside this block are added to `timings`."""
    token = _current.set(timings)
    try:
        yield timings
    finally:
        _current.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage `name` of the answer being recorded (if any)."""
    timings = _current.get()
    if timings is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        timings.add(name, time.perf_counter() - start)
