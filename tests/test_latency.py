"""What issue 12 asked of the answer path, by behaviour: stage timings on every answer,
sources before the first token, a warm-up that says what it is doing, the sources panel
while the answer is written, and a fake chat server that can show requests overlapping."""

from __future__ import annotations

import threading
import time

import pytest

from rag import Answer, Engine, Retrieved, Token
from rag.timing import STAGES, Timings, recording, stage
from tests.fakes import ScriptedLLM
from tests.openai_server import FakeOpenAIServer
from ui import render
from ui.chat import Conversations, Session
from ui.conversations import ConversationStore
from ui.library import ChatApp
from ui.settings import UISettings


def test_stages_are_recorded_only_inside_a_recording() -> None:
    with stage("search"):
        time.sleep(0.001)  # outside a recording: nothing to record into, no error
    timings = Timings()
    with recording(timings):
        with stage("search"):
            time.sleep(0.01)
        with stage("search"):
            time.sleep(0.01)
    with stage("search"):
        time.sleep(0.01)
    assert 0.02 <= timings.stages["search"] < 0.03  # summed, and only while recording


def test_every_answer_carries_its_stage_times(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("Piaggio Aerospace [1].")
    answer = engine.ask("Piaggio Aerospace Baykar")
    assert not answer.abstained
    names = set(answer.timings)
    assert {"clean", "embed", "search", "select", "decide", "first_token", "decode"} <= names
    assert {"finish", "language", "screen"} <= names
    assert names <= set(STAGES)
    assert all(v >= 0 for v in answer.timings.values())


def test_an_abstention_before_the_model_has_no_generation_stages(
    engine: Engine, llm: ScriptedLLM
) -> None:
    answer = engine.with_steps(screen=lambda hits: []).ask("Piaggio Aerospace Baykar")
    assert answer.abstained and "search" in answer.timings
    assert "first_token" not in answer.timings and not llm.prompts


def test_sources_come_first_then_tokens_then_the_answer(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("Piaggio Aerospace [1].")
    events = list(engine.stream_events("Piaggio Aerospace Baykar"))
    assert isinstance(events[0], Retrieved)
    assert any(isinstance(e, Token) for e in events[1:-1])
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert events[0].sources == answer.sources
    assert events[0].searched == "Piaggio Aerospace Baykar"
    # The retrieved sources are known before the model is asked anything.
    llm.enqueue("Piaggio Aerospace [1].")
    stream = engine.stream_events("Piaggio Aerospace Baykar")
    prompts_before = len(llm.prompts)
    first = next(stream)
    assert isinstance(first, Retrieved) and len(llm.prompts) == prompts_before
    list(stream)
    # `stream` (and rag.stream_query) keep their contract: Tokens, then the Answer.
    llm.enqueue("Piaggio Aerospace [1].")
    plain = list(engine.stream("Piaggio Aerospace Baykar"))
    assert not any(isinstance(e, Retrieved) for e in plain) and isinstance(plain[-1], Answer)


def test_the_chat_shows_the_sources_before_the_answer(
    engine: Engine, llm: ScriptedLLM, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    chat = Conversations(engine, ConversationStore(tmp_path / "c.sqlite3"))
    llm.enqueue("Piaggio Aerospace [1].")
    panels = [
        update
        for _chat, _session, _box, update in chat.respond("Piaggio Aerospace Baykar", [], Session())
        if isinstance(update, str)
    ]
    assert len(panels) == 2
    reading, final = panels
    assert "rag-sources-reading" in reading and "rag-sources-turn-0" in reading
    assert "<mark>" in reading and "being written" in reading
    assert "rag-sources-final" in final and "cited as [1]" in final


def test_the_status_says_what_the_warm_up_is_doing(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = UISettings(conversations_db=tmp_path / "c.sqlite3", upload_dir=tmp_path / "up")
    app = ChatApp(settings, engine=engine)
    assert "warming up: starting" in app.status()
    seen: list[str] = []
    gate = threading.Event()
    warm = engine.warm

    def slow_warm(max_chunks: int = 3000, on_stage=None) -> None:  # type: ignore[no-untyped-def]
        def tell(what: str) -> None:
            on_stage(what)
            seen.append(app.status())

        warm(max_chunks, tell)
        gate.wait(5)

    engine.warm = slow_warm  # type: ignore[method-assign]
    app.warm_later()
    deadline = time.monotonic() + 60  # the language detector loads in ~5 s
    while not any("warming up: embedding" in s for s in seen) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any("warming up: loading the language model" in s for s in seen)
    assert any("warming up: loading the search indexes" in s for s in seen), (
        seen,
        app.warm_error,
        app.warming,
    )
    assert "ready" not in app.status()
    gate.set()
    while app.warming and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.status().endswith(" · ready")


def test_a_failed_warm_up_is_shown_not_hidden(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = UISettings(conversations_db=tmp_path / "c.sqlite3", upload_dir=tmp_path / "up")
    app = ChatApp(settings, engine=engine)

    def broken(max_chunks: int = 3000, on_stage=None) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("no model file")

    engine.warm = broken  # type: ignore[method-assign]
    app._warm()
    assert "not ready" in app.status() and "no model file" in app.status()


def test_readiness_is_escaped() -> None:
    assert "&lt;b&gt;" in render.readiness_markdown("", "<b>bad</b>")


# 2 s a request: long enough that three started together overlap on a busy machine too.
@pytest.mark.parametrize("delay", [0.5])
def test_the_fake_server_counts_overlapping_requests(delay: float) -> None:
    import openai

    with FakeOpenAIServer("one two three four", word_delay=delay) as server:
        client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)

        def ask() -> None:
            stream = client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            for _ in stream:
                pass

        threads = [threading.Thread(target=ask) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert server.max_in_flight == 3 and server.in_flight == 0


def test_a_new_tab_does_not_wait_for_an_upload_being_indexed(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every page load asks `seed_if_empty` before asking opens; with documents in the store
    it answers without the indexing lock an upload holds."""
    settings = UISettings(conversations_db=tmp_path / "c.sqlite3", upload_dir=tmp_path / "up")
    app = ChatApp(settings, engine=engine)
    assert engine.status().chunks > 0
    done = threading.Event()
    with app.index_lock:  # an upload being indexed
        threading.Thread(target=lambda: (app.seed_if_empty(), done.set()), daemon=True).start()
        assert done.wait(10)
