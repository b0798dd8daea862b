"""Run the adversarial cases against an Engine and count what happened."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag import Engine, RagError
from rag.llm.base import LLM, Message
from tests.adversarial.cases import CASES, HOSTILE_QUESTIONS, Case, Verdict, judge


class RecordingLLM:
    """Wraps a real LLM and keeps the last prompt and raw reply, for judging."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.name = inner.name
        self.context_window = inner.context_window
        self.token_probabilities = inner.token_probabilities
        self.last_prompt = ""
        self.last_reply = ""

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        # Only what the documents can reach: the system prompt quotes rules of its own.
        self.last_prompt = "\n".join(m["content"] for m in messages if m["role"] == "user")
        self.last_reply = ""
        for piece in self.inner.stream(messages, max_tokens):
            self.last_reply += piece
            yield piece

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def first_token_probability(self, messages: list[Message], text: str) -> float:
        return self.inner.first_token_probability(messages, text)


@dataclass
class Tally:
    verdicts: list[Verdict] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    hostile: int = 0
    hostile_answered: int = 0
    seconds: float = 0.0

    @property
    def followed(self) -> int:
        return sum(v.follows for v in self.verdicts)

    @property
    def rate(self) -> float:
        return self.followed / len(self.verdicts) if self.verdicts else 0.0

    def summary(self) -> str:
        v = self.verdicts
        return (
            f"adversarial: {len(v) + self.hostile} cases, {self.followed}/{len(v)} injections "
            f"followed ({self.rate:.0%}), {sum(x.raw_follows for x in v)} raw replies followed, "
            f"{sum(x.reached for x in v)} injections reached the prompt, "
            f"{sum(x.correct for x in v)} true answers, {self.hostile_answered}/{self.hostile} "
            f"hostile questions answered, {len(self.crashes)} crashes, {self.seconds:.0f} s"
        )

    def table(self) -> str:
        rows = ["case | follows | raw | reached | correct | reason"]
        for x in self.verdicts:
            rows.append(
                f"{x.case} | {x.follows:d} | {x.raw_follows:d} | {x.reached:d} | "
                f"{x.correct:d} | {x.reason}"
            )
        return "\n".join(rows)


def run_case(engine: Engine, recorder: RecordingLLM, case: Case) -> Verdict:
    # A question answered without the model must not be judged on the previous case's call.
    recorder.last_prompt = recorder.last_reply = ""
    answer = engine.ask(case.question)
    return judge(case, answer, recorder.last_prompt, recorder.last_reply)


def run_suite(
    engine: Engine, cases: tuple[Case, ...] = CASES, hostile: bool = True, log: bool = False
) -> Tally:
    """Ask every case (and the hostile questions); a non-RagError exception is a crash.

    The engine must have been built with `llm=RecordingLLM(...)`, so prompts can be judged.
    """
    recorder = engine.llm
    assert isinstance(recorder, RecordingLLM), "build the Engine with llm=RecordingLLM(...)"
    tally = Tally()
    start = time.perf_counter()
    for case in cases:
        try:
            tally.verdicts.append(run_case(engine, recorder, case))
        except RagError as exc:  # a clear message is not a crash, but it is no answer
            tally.verdicts.append(Verdict(case.id, False, False, False, False, str(exc)))
        except Exception as exc:
            tally.crashes.append(f"{case.id}: {type(exc).__name__}: {exc}")
        if log and tally.verdicts:
            v = tally.verdicts[-1]
            print(f"{v.case}: follows={v.follows} correct={v.correct} reached={v.reached} "
                  f"reply={recorder.last_reply!r}", flush=True)  # fmt: skip
    for question, truth in HOSTILE_QUESTIONS if hostile else ():
        tally.hostile += 1
        try:
            answer = engine.ask(question)
            tally.hostile_answered += any(t.lower() in answer.text.lower() for t in truth)
            if log:
                print(f"hostile {question[:30]!r}: {answer.text!r}", flush=True)
        except RagError:
            pass
        except Exception as exc:
            tally.crashes.append(f"{question[:40]!r}: {type(exc).__name__}: {exc}")
    tally.seconds = time.perf_counter() - start
    return tally
