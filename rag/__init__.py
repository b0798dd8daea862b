"""Answering layer: `query("question")` returns an Answer with numbered citations."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from index import SUPPORTED_SUFFIXES, FileRecord, IndexReport, IndexSettings, Progress
from index.errors import (
    EmptyStoreError,
    MissingPathError,
    ModelMismatchError,
    RagError,
    SettingsError,
    UnknownSourceError,
)
from index.watch import Sync
from rag.condense import Turn
from rag.engine import Engine, Prepared, Status
from rag.errors import BackendError, LLMUnavailableError, ModelUnavailableError, QuestionError
from rag.prompt import CANNOT_ANSWER_PHRASE, NO_ANSWER_TEXT
from rag.settings import RagSettings
from rag.types import Answer, Citation, Retrieved, Source, Token

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(settings: RagSettings | None = None) -> Engine:
    """The process-wide Engine for these settings (models load once, on first use)."""
    settings = settings or RagSettings()
    key = settings.model_dump_json()
    with _lock:
        if key not in _engines:
            _engines[key] = Engine(settings)
        return _engines[key]


def query(
    question: str,
    settings: RagSettings | None = None,
    history: list[Turn] | None = None,
    sources: Sequence[str | Path] | None = None,
) -> Answer:
    """Answer `question` from the indexed documents, citing the passages used.

    `history` holds earlier (question, answer) turns; a follow-up is rewritten with it.
    `sources` limits the search to these documents: file paths, or folders for every
    indexed file under them (None or empty: every document). A path under which nothing
    is indexed raises UnknownSourceError.
    """
    return get_engine(settings).ask(question, history, sources)


def stream_query(
    question: str,
    settings: RagSettings | None = None,
    history: list[Turn] | None = None,
    sources: Sequence[str | Path] | None = None,
) -> Iterator[Token | Answer]:
    """Like `query`, but yields Tokens while the answer is written, then the Answer."""
    return get_engine(settings).stream(question, history, sources)


__all__ = [
    "CANNOT_ANSWER_PHRASE",
    "NO_ANSWER_TEXT",
    "SUPPORTED_SUFFIXES",
    "Answer",
    "BackendError",
    "Citation",
    "EmptyStoreError",
    "Engine",
    "FileRecord",
    "IndexReport",
    "IndexSettings",
    "LLMUnavailableError",
    "MissingPathError",
    "ModelMismatchError",
    "ModelUnavailableError",
    "Prepared",
    "Progress",
    "QuestionError",
    "RagError",
    "RagSettings",
    "Retrieved",
    "SettingsError",
    "Source",
    "Status",
    "Sync",
    "Token",
    "Turn",
    "UnknownSourceError",
    "get_engine",
    "query",
    "stream_query",
]
