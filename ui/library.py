"""The chat's shared state: the store's documents, uploads, deletes, status and folder watch.

One ChatApp serves every browser tab; what a single tab holds is in ui/chat.py.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from rag import (
    SUPPORTED_SUFFIXES,
    Engine,
    MissingPathError,
    Progress,
    RagError,
    Sync,
    get_engine,
)
from rag.llm import describe_llm
from ui import render
from ui.chat import Conversations
from ui.conversations import ConversationStore
from ui.settings import UISettings

_SAFE_CHARS = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_name(name: str) -> str:
    """A file name that cannot leave the upload folder: no directories, no leading dots."""
    base = re.split(r"[\\/]", name)[-1]
    base = _SAFE_CHARS.sub("_", base).strip(" .")[:120]
    return base or "upload"


class ChatApp:
    """State shared by every browser tab: one engine, one store, one lock for indexing,
    the conversations, and the folder watch."""

    def __init__(
        self,
        settings: UISettings,
        watch: Sequence[str | Path] = (),
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.engine: Engine = engine or get_engine(settings.rag)
        self.index_lock = threading.Lock()
        self.chat = Conversations(self.engine, ConversationStore(settings.conversations()))
        for path in watch:
            if not Path(path).expanduser().exists():
                raise MissingPathError(f"{path}: no such folder to watch. Check the path.")
        self.watched = [str(Path(p).expanduser().resolve()) for p in watch]
        self.last_sync: Sync | None = None
        self.watch_error = ""
        # Bumped whenever the indexed documents change; open tabs refresh when it moves.
        self.generation = 0
        self.stop = threading.Event()
        self.warming = "starting"  # what the warm-up is doing; "" once the chat is ready
        self.warm_error = ""
        self._warm_lock = threading.Lock()

    def warm_later(self) -> None:
        """Warm up in the background (the status line says what it is doing meanwhile)."""
        self.warming = self.warming or "starting"
        threading.Thread(target=self._warm, daemon=True, name="warm").start()

    def _warm(self) -> None:
        with self._warm_lock:  # a second warm-up (after seeding) waits for the first
            try:
                self.engine.warm(on_stage=self._warming)
                self.warm_error = ""
            except Exception as exc:  # the first question will say what is wrong, too
                self.warm_error = str(exc) or type(exc).__name__
            finally:
                self.warming = ""
                self.generation += 1

    def _warming(self, stage: str) -> None:
        self.warming = stage
        self.generation += 1

    # --- folder watch -----------------------------------------------------------------
    def start_watching(self) -> None:
        if self.watched:
            threading.Thread(target=self._watch, daemon=True, name="watch").start()

    def _watch(self) -> None:
        try:
            self.engine.watch(
                self.watched, on_sync=self._synced, stop=self.stop, lock=self.index_lock
            )
        except Exception as exc:  # shown in the status line; the chat keeps working
            if not isinstance(exc, RagError):
                traceback.print_exc()
            self.watch_error = str(exc) or type(exc).__name__
            self.generation += 1

    def _synced(self, sync: Sync) -> None:
        for path, reason in sync.report.failed:
            print(f"watch: failed: {path}: {reason}", file=sys.stderr)
        print(f"watch: {sync.summary()}", file=sys.stderr)
        self.last_sync = sync
        self.generation += 1

    # --- status & documents -----------------------------------------------------------
    def status(self) -> str:
        status = self.engine.status()
        line = render.status_markdown(
            status.documents, status.chunks, status.embed_model, describe_llm(self.settings.rag)
        )
        if self.watched:
            line += render.watch_markdown(self.watched, self.last_sync, self.watch_error)
        return line + render.readiness_markdown(self.warming, self.warm_error)

    def documents(
        self, scope: list[str] | None = None, picked: list[str] | None = None
    ) -> tuple[list[list[Any]], Any, Any]:
        """Rows of the document list, and the delete and search-within choices (choices
        that still exist stay chosen)."""
        files = sorted(self.engine.documents().items())
        rows = [[Path(s).name, r.chunks, s] for s, r in files]
        docs = [(Path(s).name + f"  ({s})", s) for s, _ in files]
        folders = Counter(str(Path(s).parent) for s, _ in files)
        within = [
            (f"{Path(f).name}/  (folder, {n} document{'s' if n != 1 else ''})", f + os.sep)
            for f, n in sorted(folders.items())
        ] + [(f"{Path(s).name}  ({Path(s).parent.name}/)", s) for s, _ in files]

        def keep(chosen: list[str] | None, choices: list[tuple[str, str]]) -> list[str]:
            values = {v for _, v in choices}
            return [c for c in chosen or [] if c in values]

        return (
            rows,
            gr.update(choices=docs, value=keep(picked, docs)),
            gr.update(choices=within, value=keep(scope, within)),
        )

    def seed_if_empty(self, progress: gr.Progress | None = None) -> str:
        """First start: index the sample corpus so the chat has something to answer from."""
        if self.watched:  # the watched folders are the documents
            return ""
        # Asked on every page load, and asking opens only after it: a store that has documents
        # must not make a new tab wait for the lock while an upload is being indexed.
        if self.engine.store.count_chunks() > 0:
            return ""
        with self.index_lock:
            if self.engine.store.count_chunks() > 0 or not self.settings.seed_dir.is_dir():
                return ""
            report = self.engine.add([self.settings.seed_dir], progress=_reporter(progress))
        self.warm_later()  # before the status moves: it must not say "ready" in between
        self.generation += 1
        return f"Indexed the sample documents in `{self.settings.seed_dir}`: {report.summary()}"

    # --- uploads ----------------------------------------------------------------------
    def upload(self, paths: list[str] | None, progress: gr.Progress | None = None) -> str:
        if not paths:
            return ""
        target = self.settings.uploads()
        target.mkdir(parents=True, exist_ok=True)
        accepted, problems = [], []
        limit = self.settings.max_upload_mb * 1024 * 1024
        for raw in paths:
            name = safe_name(Path(raw).name)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                problems.append(
                    (
                        name,
                        f"unsupported type {suffix or '(none)'}; supported: "
                        + ", ".join(sorted(SUPPORTED_SUFFIXES)),
                    )
                )
                continue
            if os.path.getsize(raw) > limit:
                problems.append((name, f"larger than {self.settings.max_upload_mb:g} MB"))
                continue
            dest = (target / name).resolve()
            if dest.parent != target.resolve():  # belt and braces after safe_name
                problems.append((name, "invalid file name"))
                continue
            shutil.copyfile(raw, dest)
            accepted.append(dest)
        report = None
        if accepted:
            with self.index_lock:
                report = self.engine.add(accepted, progress=_reporter(progress))
            self.generation += 1
            problems += [(Path(p).name, why) for p, why in report.failed]
            for p, _ in report.failed:  # a file we cannot read is not kept around
                Path(p).unlink(missing_ok=True)
        lines = []
        if report:
            lines.append(f"Indexed: {report.summary()}")
        lines += [f"- **{escape(n)}** was not indexed: {escape(w)}" for n, w in problems]
        return "\n".join(lines)

    def delete(self, sources: list[str] | None) -> str:
        if not sources:
            return "Choose documents to delete first."
        uploads = self.settings.uploads().resolve()
        with self.index_lock:
            removed = self.engine.remove(sources)
            for source in removed:  # our copy of an upload goes too; user folders are untouched
                if Path(source).parent == uploads:
                    Path(source).unlink(missing_ok=True)
        self.generation += 1
        return f"Deleted {len(removed)} document(s)."


def _reporter(progress: gr.Progress | None) -> Any:
    def report(p: Progress) -> None:
        eta = f", about {p.eta_s:.0f} s left" if p.eta_s is not None else ""
        desc = f"Indexing {Path(p.current).name or 'documents'}: {p.chunks_done}"
        desc += f"/{p.chunks_total} chunks{eta}" if p.chunks_total else " chunks"
        if progress is not None:
            if p.chunks_total:
                progress((p.chunks_done, p.chunks_total), desc=desc, unit="chunks")
            elif p.files_total:
                progress((p.files_done, p.files_total), desc=desc, unit="files")
        print(desc, file=sys.stderr)

    return report
