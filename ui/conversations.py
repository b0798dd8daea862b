"""Conversations kept on disk: each answered turn is saved as it completes (SQLite).

An answer is stored whole (text, citations, every source shown to the model, the question
searched), so a reopened conversation shows what it showed then, even after the documents
change. Rows carry the user who asked; every read and write is by (user, id), so with a
login nobody sees another user's conversations.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rag import Answer, Citation, RagError, Source

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    asked REAL NOT NULL,
    answered REAL NOT NULL,
    scope TEXT NOT NULL,
    answer TEXT NOT NULL,
    PRIMARY KEY (conversation, n)
);
"""
TITLE_CHARS = 120


class ConversationNotFoundError(RagError):
    """No conversation with this id belongs to this user (deleted, or someone else's)."""


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str  # the first question until renamed
    created: float
    updated: float
    turns: int


@dataclass(frozen=True)
class SavedTurn:
    """One question and its answer, as shown when it was asked."""

    n: int
    answer: Answer  # .question, .text, .citations, .sources, .standalone_question
    scope: tuple[str, ...]  # the documents and folders it was limited to (empty: all)
    asked: float
    answered: float


class ConversationStore:
    """Conversations of every user in one SQLite file (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: Gradio runs handlers on many threads, and opening one is cheap.
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA foreign_keys=ON")
            with db:  # one transaction, committed on success
                yield db

    def create(self, user: str, first_question: str) -> str:
        cid = uuid.uuid4().hex
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                (cid, user, _title(first_question), now, now),
            )
        return cid

    def add_turn(
        self, cid: str, user: str, answer: Answer, scope: Sequence[str], asked: float
    ) -> SavedTurn:
        now = time.time()
        with self._db() as db:
            self._require(db, cid, user)
            (n,) = db.execute(
                "SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation = ?", (cid,)
            ).fetchone()
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                (cid, n, asked, now, json.dumps(list(scope)), _dump(answer)),
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, cid))
        return SavedTurn(n, answer, tuple(scope), asked, now)

    def conversations(self, user: str) -> list[Conversation]:
        """The user's conversations, most recently continued first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.n) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation = c.id WHERE c.user = ? "
                "GROUP BY c.id ORDER BY c.updated DESC",
                (user,),
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, cid: str, user: str) -> Conversation:
        return next((c for c in self.conversations(user) if c.id == cid), None) or _missing(cid)

    def turns(self, cid: str, user: str) -> list[SavedTurn]:
        with self._db() as db:
            self._require(db, cid, user)
            rows = db.execute(
                "SELECT n, answer, scope, asked, answered FROM turns WHERE conversation = ? "
                "ORDER BY n",
                (cid,),
            ).fetchall()
        return [
            SavedTurn(n, _load(answer), tuple(json.loads(scope)), asked, answered)
            for n, answer, scope, asked, answered in rows
        ]

    def rename(self, cid: str, user: str, title: str) -> None:
        title = _title(title)
        if not title:
            raise ConversationNotFoundError("A conversation needs a name: type one first.")
        with self._db() as db:
            self._require(db, cid, user)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, cid))

    def delete(self, cid: str, user: str) -> None:
        with self._db() as db:
            self._require(db, cid, user)
            db.execute("DELETE FROM conversations WHERE id = ?", (cid,))

    def find(self, prefix: str, user: str) -> Conversation:
        """The user's conversation whose id starts with `prefix` (as the CLI lists them)."""
        found = [c for c in self.conversations(user) if c.id.startswith(prefix.strip())]
        if len(found) != 1 or not prefix.strip():
            what = "matches several conversations" if found else "matches no conversation"
            raise ConversationNotFoundError(
                f"{prefix!r} {what}. List them with `rag conversations` and give more of the id."
            )
        return found[0]

    def markdown(self, cid: str, user: str) -> str:
        """The conversation as Markdown: each answer with its numbered sources."""
        from ui.render import conversation_markdown

        conv = self.get(cid, user)
        turns = [(t.answer, t.scope) for t in self.turns(cid, user)]
        return conversation_markdown(conv.title, conv.created, turns)

    def _require(self, db: sqlite3.Connection, cid: str, user: str) -> None:
        row = db.execute(
            "SELECT 1 FROM conversations WHERE id = ? AND user = ?", (cid, user)
        ).fetchone()
        if row is None:
            _missing(cid)


def _missing(cid: str) -> Any:
    raise ConversationNotFoundError(
        f"Conversation {cid[:8]} does not exist (deleted?). Pick one from the list or start "
        "a new one."
    )


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


def _dump(answer: Answer) -> str:
    return json.dumps(dataclasses.asdict(answer), ensure_ascii=False)


T = TypeVar("T")


def _build(cls: type[T], data: dict[str, Any], tuples: tuple[str, ...] = ()) -> T:
    """A dataclass from stored fields; fields added or dropped since it was saved are fine."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: tuple(v) if k in tuples else v for k, v in data.items() if k in known})


def _load(raw: str) -> Answer:
    data = json.loads(raw)
    data["citations"] = [_build(Citation, c, ("sentences",)) for c in data.get("citations", [])]
    data["sources"] = [_build(Source, s, ("evidence",)) for s in data.get("sources", [])]
    return _build(Answer, data)
