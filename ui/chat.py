"""What the chat does for each browser tab: answer, keep the conversation, show cited pages.

State shared by every tab (engine, store, conversations, the folder watch) lives in ChatApp
(ui/app.py); what one tab holds (the open conversation) is a Session.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Answer, Engine, Prepared, RagError, Retrieved, Token
from rag.guard import clean_text
from ui import render
from ui.conversations import ConversationNotFoundError, ConversationStore
from ui.pages import is_pdf_page, render_page

Chat = list[dict[str, Any]]
log = logging.getLogger(__name__)


@dataclass
class Session:
    """The conversation open in one tab: its id once saved, and its answers so far."""

    conversation: str | None = None
    answers: list[Answer] = field(default_factory=list)
    scopes: list[tuple[str, ...]] = field(default_factory=list)

    def history(self) -> list[tuple[str, str]]:
        return [(a.question, a.text) for a in self.answers]


def user_of(request: gr.Request | None) -> str:
    """Who is asking: the login name, or "" when the chat has no login."""
    return (request.username if request is not None else None) or ""


def _user_message(text: str) -> dict[str, Any]:
    # Lone surrogates would make Gradio's JSON update fail (orjson refuses them).
    return {"role": "user", "content": escape(clean_text(text))}


@dataclass(frozen=True)
class Pending:
    """A question between `Conversations.look` (sources shown) and `.answer` (model writes)."""

    message: str
    asked: float  # when it was asked (kept with the saved turn)
    prepared: Prepared | None = None  # None: a follow-up, which `answer` prepares (rewrite)
    failed: bool = False  # `look` already showed why it cannot be answered


def _failure_html(exc: Exception, message: str) -> str:
    """What the chat shows when a question fails: our errors say what to do; anything else
    (a bug, an unexpected failure) says so, never a reply left looking unfinished."""
    if isinstance(exc, RagError):
        return render.error_html(str(exc))
    log.error("answering %r failed", message, exc_info=exc)
    return render.error_html(
        f"Answering failed ({type(exc).__name__}: {exc}). Ask again; if it keeps failing, "
        "the server's log has the details."
    )


class Conversations:
    """The chat's side of conversations: answering into one, reopening, exporting."""

    def __init__(self, engine: Engine, store: ConversationStore) -> None:
        self.engine = engine
        self.store = store
        self.exports = Path(tempfile.gettempdir()) / "rag-exports"

    def respond(
        self,
        message: str,
        chat: Chat,
        session: Session,
        scope: list[str] | None = None,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Chat, Session, str, Any]]:
        """Stream the answer into the chat; save the turn once it is complete.

        `look` then `answer`, as one generator (the chat runs them as two events, so that
        looking does not wait in the model's queue).
        """
        looked: tuple[Chat, str, Any, Pending | None] = (chat, "", gr.skip(), None)
        for looked in self.look(message, chat, session, scope):
            yield looked[0], session, looked[1], looked[2]
        for shown, kept, panel in self.answer(looked[3], looked[0], session, scope, request):
            yield shown, kept, "", panel

    def look(
        self, message: str, chat: Chat, session: Session, scope: list[str] | None = None
    ) -> Iterator[tuple[Chat, str, Any, Pending]]:
        """Show the question, then the passages found for it; what `answer` goes on from.

        Needs no model, so it need not wait for one: a first question is prepared whole
        (its sources are the answer's); a follow-up, whose rewrite needs the model, gets a
        preview searched with the previous question, replaced once the rewrite is searched;
        so does a first question when preparing it may ask the model (the hypothetical
        answer a same-language question is searched with: `Engine.prepare_asks_model`).
        """
        pending = Pending(message, time.time())
        chat = [
            *chat,
            _user_message(message),
            {"role": "assistant", "content": render.streaming_html("")},
        ]
        yield chat, "", gr.skip(), pending
        turn = len(session.answers)
        scope = list(scope or [])
        try:
            if session.answers or self.engine.prepare_asks_model:
                shown = self.engine.preview(message, session.history(), scope).sources
            else:
                prepared = self.engine.prepare(message, [], scope)
                pending = replace(pending, prepared=prepared)
                shown = prepared.retrieved.sources
        except Exception as exc:
            chat[-1] = {"role": "assistant", "content": _failure_html(exc, message)}
            yield chat, "", gr.skip(), replace(pending, failed=True)
            return
        yield chat, "", render.retrieved_html(shown, turn), pending

    def answer(
        self,
        pending: Pending | None,
        chat: Chat,
        session: Session,
        scope: list[str] | None = None,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Chat, Session, Any]]:
        """Stream the model's answer to what `look` prepared; save the turn once complete."""
        if pending is None or pending.failed:
            yield chat, session, gr.skip()
            return
        scope = list(scope or [])
        chat = list(chat)
        turn = len(session.answers)
        try:
            partial = ""
            answer: Answer | None = None
            if pending.prepared is not None:
                events: Iterator[Any] = self.engine.answer_events(pending.prepared)
            else:
                events = self.engine.stream_events(pending.message, session.history(), scope)
            for event in events:
                if isinstance(event, Retrieved):  # sources first, while the model reads them
                    yield chat, session, render.retrieved_html(event.sources, turn)
                elif isinstance(event, Token):
                    partial += event.text
                    chat[-1] = {"role": "assistant", "content": render.streaming_html(partial)}
                    yield chat, session, gr.skip()
                else:
                    answer = event
        except Exception as exc:
            chat[-1] = {"role": "assistant", "content": _failure_html(exc, pending.message)}
            yield chat, session, gr.skip()
            return
        assert answer is not None
        html = render.answer_html(answer, len(session.answers), scope)
        try:
            session = self._save(session, answer, scope, pending.asked, user_of(request))
        except sqlite3.Error as exc:  # the answer still shows; only keeping it failed
            html += render.error_html(f"This answer could not be saved ({exc}).")
            session = replace(session, answers=[*session.answers, answer])
        chat[-1] = {"role": "assistant", "content": html}
        yield chat, session, render.sources_html(answer, turn)

    def _save(
        self, session: Session, answer: Answer, scope: list[str], asked: float, user: str
    ) -> Session:
        cid = session.conversation or self.store.create(user, answer.question)
        self.store.add_turn(cid, user, answer, scope, asked)
        return Session(cid, [*session.answers, answer], [*session.scopes, tuple(scope)])

    def open(self, cid: str, user: str) -> tuple[Chat, Session]:
        """A saved conversation as the chat shows it, ready to be continued."""
        turns = self.store.turns(cid, user)
        chat: Chat = []
        for k, t in enumerate(turns):
            chat.append({"role": "user", "content": escape(t.answer.question)})
            chat.append({"role": "assistant", "content": render.answer_html(t.answer, k, t.scope)})
        return chat, Session(cid, [t.answer for t in turns], [t.scope for t in turns])

    def choices(self, user: str) -> list[tuple[str, str]]:
        """(label, id) of the user's conversations, newest first: first question and date."""
        return [
            (render.conversation_label(c.title, c.updated, c.turns), c.id)
            for c in self.store.conversations(user)
        ]

    def listing(self, user: str, session: Session) -> Any:
        """The conversation list's update, the tab's open conversation chosen."""
        choices = self.choices(user)
        count = f"{len(choices)} kept" if choices else "None yet: ask a question to start one."
        return gr.update(choices=choices, value=session.conversation, info=count)

    def title(self, session: Session, user: str) -> str:
        if session.conversation is None:
            return ""
        try:
            return self.store.get(session.conversation, user).title
        except ConversationNotFoundError:
            return ""

    def export(self, session: Session, user: str) -> str | None:
        """The open conversation written as Markdown; the file's path (None: nothing yet)."""
        if session.conversation is None:
            return None
        try:
            conv = self.store.get(session.conversation, user)
            text = self.store.markdown(conv.id, user)
        except ConversationNotFoundError:
            return None
        folder = self.exports / conv.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (render.file_stem(conv.title) + ".md")
        path.write_text(text, "utf-8")
        return str(path)

    def page(self, key: str, session: Session, whole: bool = False) -> tuple[Any, ...]:
        """For a click on [n] of answer k ("k:n"): the cited PDF page as an image (the part
        around the cited sentences, or the `whole` page), its caption, that answer's sources.
        """
        hidden = gr.update(value=None, visible=False)
        try:
            turn, n = (int(part) for part in key.split(":")[:2])
            answer = session.answers[turn]
            citation = next(c for c in answer.citations if c.n == n)
        except (ValueError, IndexError, StopIteration):
            return hidden, "", gr.skip(), gr.update(visible=False)
        sources = render.sources_html(answer)
        if citation.page is None or not is_pdf_page(citation.source, citation.page):
            return hidden, "", sources, gr.update(visible=False)
        try:
            shown = render_page(
                citation.source, citation.page, citation.sentences or (citation.quote,)
            )
        except Exception as exc:  # the image is extra: any failure leaves the text view
            missing = render.page_missing_html(citation, f"{type(exc).__name__}: {exc}")
            return hidden, missing, sources, gr.update(visible=False)
        caption = render.page_caption_html(citation, shown.found, shown.wanted, whole)
        image = shown.image if whole else shown.cited
        return gr.update(value=image, visible=True), caption, sources, gr.update(visible=True)
