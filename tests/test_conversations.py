"""Kept conversations: saved per turn, per user, reopened as they were, exported as Markdown."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import index_paths
from rag import Answer, Citation, Engine, RagSettings, Source
from rag.llm.base import Message
from tests.fakes import HashEmbedder, ScriptedLLM
from ui import render
from ui.chat import Conversations, Session
from ui.conversations import ConversationNotFoundError, ConversationStore


def _answer(question: str, n_sources: int = 3, page: int | None = 2) -> Answer:
    sources = [
        Source(
            n=i,
            source=f"/docs/report-{i}.pdf",
            title=f"report-{i}.pdf",
            page=page,
            text=f"Passage {i}. The repair cost {i}.4 million euro. More words here.",
            evidence=(f"The repair cost {i}.4 million euro.",),
            start=10 * i,
            end=10 * i + 60,
            score=0.9 - i / 100,
        )
        for i in range(1, n_sources + 1)
    ]
    first = sources[0]
    citation = Citation(
        n=1,
        source=first.source,
        text=first.text,
        page=first.page,
        score=first.score,
        title=first.title,
        quote=first.evidence[0],
        sentences=first.evidence,
        start=first.start,
        end=first.end,
    )
    text = "It cost 1.4 million euro [1]."
    return Answer(text, [citation], False, question, question + " (searched)", sources)


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations.sqlite")


def test_a_saved_conversation_reopens_exactly_even_from_a_new_process(
    store: ConversationStore, tmp_path: Path
) -> None:
    cid = store.create("ana", "How much did the repair cost?")
    first, second = _answer("How much did the repair cost?"), _answer("And when?", page=None)
    store.add_turn(cid, "ana", first, ["/docs/report-1.pdf"], asked=time.time())
    store.add_turn(cid, "ana", second, [], asked=time.time())

    reopened = ConversationStore(tmp_path / "conversations.sqlite")  # as after a restart
    turns = reopened.turns(cid, "ana")
    assert [t.answer for t in turns] == [first, second]  # citations and sources included
    assert [t.scope for t in turns] == [("/docs/report-1.pdf",), ()]
    assert isinstance(turns[0].answer.citations[0].sentences, tuple)
    (conv,) = reopened.conversations("ana")
    assert conv.title == "How much did the repair cost?" and conv.turns == 2
    assert conv.created <= conv.updated <= time.time()


def test_conversations_are_listed_newest_first_renamed_and_deleted(
    store: ConversationStore,
) -> None:
    old = store.create("ana", "first question")
    new = store.create("ana", "second question")
    store.add_turn(old, "ana", _answer("first question"), [], time.time())  # continued: newest
    assert [c.id for c in store.conversations("ana")] == [old, new]
    store.rename(new, "ana", "  Budget   talk ")
    assert store.get(new, "ana").title == "Budget talk"
    with pytest.raises(ConversationNotFoundError, match="needs a name"):
        store.rename(new, "ana", "   ")
    store.delete(old, "ana")
    assert [c.id for c in store.conversations("ana")] == [new]
    with pytest.raises(ConversationNotFoundError, match="does not exist"):
        store.turns(old, "ana")


def test_each_user_sees_and_changes_only_their_own(store: ConversationStore) -> None:
    cid = store.create("ana", "private question")
    store.add_turn(cid, "ana", _answer("private question"), [], time.time())
    assert store.conversations("ben") == []
    for attempt in (
        lambda: store.turns(cid, "ben"),
        lambda: store.rename(cid, "ben", "mine now"),
        lambda: store.delete(cid, "ben"),
        lambda: store.add_turn(cid, "ben", _answer("x"), [], time.time()),
    ):
        with pytest.raises(ConversationNotFoundError):
            attempt()
    assert store.get(cid, "ana").turns == 1


def test_the_chat_saves_each_turn_and_continues_a_reopened_conversation(
    tmp_path: Path, rag_settings: RagSettings, seeds: Path, store: ConversationStore
) -> None:
    index_paths([seeds], rag_settings.index, embedder=HashEmbedder())
    llm = ScriptedLLM(["Piaggio Aerospace [1].", "When did Baykar buy Piaggio?", "In 2025 [1]."])
    chat = Conversations(Engine(rag_settings, embedder=HashEmbedder(), llm=llm), store)
    *_, (messages, session, _, _) = chat.respond("Baykar Piaggio overname", [], Session())
    assert session.conversation is not None
    assert store.get(session.conversation, "").turns == 1  # saved before the last update

    reopened_chat, reopened = chat.open(session.conversation, "")
    assert reopened_chat == messages and reopened.answers == session.answers
    *_, (messages, session, _, _) = chat.respond("And when?", reopened_chat, reopened)
    # The follow-up was rewritten with the reopened history.
    assert "Baykar Piaggio overname" in llm.prompts[1][-1]["content"]
    turns = store.turns(session.conversation or "", "")
    assert [t.answer.question for t in turns] == ["Baykar Piaggio overname", "And when?"]
    assert 'class="rag-answer rag-turn-1"' in messages[-1]["content"]


class _BrokenLLM(ScriptedLLM):
    """Starts a reply, then fails in a way nobody planned for (a bug, not a RagError)."""

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        yield "Piaggio "
        raise RuntimeError("tensor shape mismatch")


def test_an_unexpected_failure_mid_answer_is_shown_not_left_streaming(
    rag_settings: RagSettings, seeds: Path, store: ConversationStore
) -> None:
    index_paths([seeds], rag_settings.index, embedder=HashEmbedder())
    chat = Conversations(Engine(rag_settings, embedder=HashEmbedder(), llm=_BrokenLLM()), store)
    *_, (messages, session, _, _) = chat.respond("Baykar Piaggio overname", [], Session())
    last = messages[-1]["content"]
    assert 'class="rag-error"' in last and "RuntimeError: tensor shape mismatch" in last
    assert "▍" not in last  # not a reply that looks as if it were still being written
    assert session.conversation is None and store.conversations("") == []  # nothing half-saved


def test_looking_shows_the_passages_before_the_model_is_asked(
    rag_settings: RagSettings, seeds: Path, store: ConversationStore
) -> None:
    index_paths([seeds], rag_settings.index, embedder=HashEmbedder())
    llm = ScriptedLLM(["Piaggio Aerospace [1].", "When did Baykar buy Piaggio?", "In 2025 [1]."])
    chat = Conversations(Engine(rag_settings, embedder=HashEmbedder(), llm=llm), store)
    looked = list(chat.look("Baykar Piaggio overname", [], Session()))
    messages, _, panel, pending = looked[-1]
    assert llm.prompts == [] and pending.prepared is not None  # no model needed to look
    assert "rag-sources-reading rag-sources-turn-0" in panel and "Piaggio" in panel
    *_, (messages, session, final) = chat.answer(pending, messages, Session())
    assert len(llm.prompts) == 1 and "rag-sources-final" in final
    assert 'class="rag-answer rag-turn-0"' in messages[-1]["content"]

    # A follow-up: a preview (previous question and this one) while the rewrite waits.
    *_, (messages, _, panel, pending) = chat.look("And when?", messages, session)
    assert len(llm.prompts) == 1 and pending.prepared is None
    assert "rag-sources-turn-1" in panel
    *_, (messages, session, final) = chat.answer(pending, messages, session)
    assert "Baykar Piaggio overname" in llm.prompts[1][-1]["content"]  # rewritten
    assert "rag-sources-turn-1" in final and len(session.answers) == 2


def test_looking_never_waits_for_the_model_that_writes_the_hypothetical_answer(
    rag_settings: RagSettings, seeds: Path, store: ConversationStore
) -> None:
    # A Dutch question over the Dutch article is searched with an imagined answer (the
    # expand step): looking shows a preview without it, the answer brings the final sources.
    settings = rag_settings.model_copy(update={"hypothetical_search": True})
    index_paths([seeds], settings.index, embedder=HashEmbedder())
    llm = ScriptedLLM(["Baykar heeft Piaggio Aerospace overgenomen.", "Piaggio Aerospace [1]."])
    engine = Engine(settings, embedder=HashEmbedder(), llm=llm)
    chat = Conversations(engine, store)
    assert engine.prepare_asks_model

    *_, (messages, _, panel, pending) = chat.look("Welk bedrijf nam Baykar over?", [], Session())
    assert llm.prompts == [] and pending.prepared is None
    assert "rag-sources-turn-0" in panel
    *_, (messages, session, final) = chat.answer(pending, messages, Session())
    assert "in Dutch" in llm.prompts[0][0]["content"]  # the hypothetical answer, then ...
    assert "Question: Welk bedrijf" in llm.prompts[1][-1]["content"]  # ... the answer
    assert "rag-sources-final" in final and session.answers[0].citations


def test_a_question_that_cannot_be_looked_up_is_answered_with_the_reason(
    rag_settings: RagSettings, seeds: Path, store: ConversationStore
) -> None:
    index_paths([seeds], rag_settings.index, embedder=HashEmbedder())
    llm = ScriptedLLM()
    chat = Conversations(Engine(rag_settings, embedder=HashEmbedder(), llm=llm), store)
    *_, (messages, _, _, pending) = chat.look("   ", [], Session())
    assert pending.failed and "The question is empty" in messages[-1]["content"]
    *_, (after, session, _) = chat.answer(pending, messages, Session())
    assert after == messages and session.answers == [] and llm.prompts == []


def test_reopening_fifty_turns_takes_well_under_a_second(store: ConversationStore) -> None:
    cid = store.create("", "q0")
    for i in range(50):
        store.add_turn(cid, "", _answer(f"question {i}", n_sources=6), [], time.time())
    chat = Conversations.__new__(Conversations)
    chat.store = store
    started = time.perf_counter()
    messages, session = chat.open(cid, "")
    took = time.perf_counter() - started
    print(f"\nreopened 50 turns (6 sources each) in {took * 1000:.0f} ms")
    assert len(messages) == 100 and len(session.answers) == 50
    assert took < 1.0


def test_markdown_export_lists_each_answer_with_file_page_and_quote() -> None:
    answer = _answer("How much did the repair cost?")
    text = render.conversation_markdown(
        "Repairs", 0.0, [(answer, ("/docs/",)), (_answer("Again?", page=None), ())]
    )
    assert text.startswith("# Repairs\n")
    assert "## 1. How much did the repair cost?" in text and "## 2. Again?" in text
    assert "It cost 1.4 million euro [1]." in text
    assert "1. report-1.pdf, page 2 (`/docs/report-1.pdf`)" in text
    assert "   > The repair cost 1.4 million euro." in text
    assert "*Within:* docs/" in text
    assert "*Searched as:* How much did the repair cost? (searched)" in text


def test_markdown_export_keeps_document_markup_inert() -> None:
    hostile = _answer("<script>alert(1)</script> [x](javascript:alert(2))")
    text = render.conversation_markdown("# title ![img](http://x/y.png)", 0.0, [(hostile, ())])
    # Every bracket and angle bracket escaped: no link, image or tag survives.
    ours = text.replace("[1]", "").replace("\n   > ", "\n")
    assert re.search(r"(?<!\\)[<>\[\]]", ours) is None
    assert r"\<script\>" in text and r"\# title" in text and r"\](javascript" in text


def test_an_export_file_is_written_for_the_open_conversation(
    store: ConversationStore, tmp_path: Path
) -> None:
    cid = store.create("ana", "Repair / cost: what?")
    answer = _answer("Repair / cost: what?")
    store.add_turn(cid, "ana", answer, [], time.time())
    chat = Conversations.__new__(Conversations)
    chat.store, chat.exports = store, tmp_path / "exports"
    path = chat.export(Session(cid, [answer], [()]), "ana")
    assert path is not None and Path(path).name == "Repair  cost what.md"
    assert "## 1. Repair / cost: what?" in Path(path).read_text(encoding="utf-8")
    assert chat.export(Session(cid, [answer], [()]), "ben") is None
    assert chat.export(Session(), "ana") is None


def test_rag_conversations_lists_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main
    from ui.settings import UISettings

    store = ConversationStore(UISettings().conversations())  # beside RAG_STORE_DIR
    cid = store.create("", "How much did the repair cost?")
    store.add_turn(cid, "", _answer("How much did the repair cost?"), [], time.time())
    store.create("ana", "Not listed for the default user")
    assert main(["conversations"]) == 0
    out = capsys.readouterr().out
    assert cid[:8] in out and "How much did the repair cost?" in out and "Not listed" not in out
    assert main(["conversations", "--export", cid[:6]]) == 0
    assert "   > The repair cost 1.4 million euro." in capsys.readouterr().out
    assert main(["conversations", "--export", "zzz"]) == 2
    assert "matches no conversation" in capsys.readouterr().err
