"""Folder watch: keep the store in line with files and folders while the process runs.

watchfiles (inotify/FSEvents, polling where those are missing) groups change events until
the folders are quiet for a moment. Each changed path is then synced by what is on disk now,
not by the kind of event: editors that save by writing a temporary file and renaming it
report one path as deleted and added, and the disk says which is true. Existing files and
folders go through `index_paths` (incremental, crash-safe, a bad file reported and skipped),
vanished ones through `remove_documents`, so a watch run keeps the guarantees of `rag index`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.embed import Embedder, open_embedder
from index.errors import MissingPathError, RagError
from index.load import SUPPORTED_SUFFIXES
from index.pipeline import IndexReport, index_paths, remove_documents
from index.settings import IndexSettings


@dataclass(frozen=True)
class Sync:
    """One round of syncing: the paths that changed and what the store did about them."""

    report: IndexReport
    changed: tuple[str, ...]  # empty for the first, full sync
    finished: float  # time.time()
    seconds: float

    def summary(self) -> str:
        what = f"{len(self.changed)} changed path(s)" if self.changed else "full sync"
        clock = time.strftime("%H:%M:%S", time.localtime(self.finished))
        return f"{clock} {what} in {self.seconds:.1f} s: {self.report.summary()}"


class _Roots:
    """The watched files and folders, and which event paths belong to them."""

    def __init__(self, paths: Iterable[str | Path]) -> None:
        self.paths = []
        for raw in paths:
            path = Path(raw).expanduser()
            if not path.exists():
                raise MissingPathError(
                    f"{raw}: no such file or folder to watch. Check the path and try again."
                )
            self.paths.append(path.resolve())
        if not self.paths:
            raise MissingPathError("Nothing to watch: give at least one file or folder.")
        self.folders = [p for p in self.paths if p.is_dir()]
        self.files = {p for p in self.paths if not p.is_dir()}
        # A watched file is watched through its folder: a save by rename replaces its inode.
        self.watched = sorted({str(p) for p in self.folders} | {str(p.parent) for p in self.files})

    def wants(self, path: Path) -> bool:
        if path in self.files:
            return True
        if not any(path.is_relative_to(f) for f in self.folders):
            return False
        if any(part.startswith(".") for part in path.parts[-1:]):
            return False  # hidden files and editor swap files, as `rag index` skips them
        # A path without a suffix may be a folder that was deleted; disk state decides later.
        return path.suffix.lower() in SUPPORTED_SUFFIXES or not path.suffix


def sync_paths(
    changed: Iterable[Path],
    settings: IndexSettings,
    embedder: Embedder,
    lock: AbstractContextManager[Any] | None = None,
) -> IndexReport:
    """Bring the store in line with these paths as they are on disk now."""
    present, gone = [], []
    for path in sorted(set(changed)):
        if path.is_dir() or (path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES):
            present.append(path)
        elif not path.exists():
            gone.append(path)
    with lock or nullcontext():
        report = index_paths(present, settings, embedder=embedder) if present else IndexReport()
        if gone:
            report.removed += remove_documents(gone, settings)
    return report


def watch_paths(
    paths: Iterable[str | Path],
    settings: IndexSettings | None = None,
    *,
    embedder: Embedder | None = None,
    on_sync: Callable[[Sync], None] | None = None,
    stop: threading.Event | None = None,
    lock: AbstractContextManager[Any] | None = None,
    quiet_ms: int = 300,
    max_wait_ms: int = 2000,
) -> None:
    """Index `paths`, then keep the store in sync with them until `stop` is set.

    Changes are synced once the folders have been quiet for `quiet_ms` (or after
    `max_wait_ms` of continuous changes). `lock` is held while the store is written, so
    other writers in the same process (the chat's uploads) take turns with the watcher.
    Ctrl+C raises KeyboardInterrupt, as in any blocking call.
    """
    import watchfiles

    # One line per change batch at INFO would flood a chat's log; our own line says more.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    settings = settings or IndexSettings()
    roots = _Roots(paths)
    embedder = embedder or open_embedder(settings)
    first = True
    retry: set[str] = set()  # paths of a sync that failed as a whole (the store was down)
    # yield_on_timeout: the first (empty) yield comes once the watcher is running, so the
    # full sync below cannot miss a change made while it starts.
    for events in watchfiles.watch(
        *roots.watched,
        watch_filter=lambda _change, raw: roots.wants(Path(raw)),
        debounce=max_wait_ms,
        step=quiet_ms,
        rust_timeout=500,
        yield_on_timeout=True,
        stop_event=stop,
    ):
        changed = tuple(sorted({raw for _change, raw in events} | retry))
        if not first and not events:
            continue
        started = time.monotonic()
        if first:  # a store that cannot be opened fails here, before any watching is done
            with lock or nullcontext():
                report = index_paths(roots.paths, settings, embedder=embedder)
            changed, first = (), False
        else:
            try:
                report = sync_paths([Path(c) for c in changed], settings, embedder, lock)
                retry = set()
            except RagError as exc:  # reported; the paths are synced with the next change
                report = IndexReport(failed=[(c, str(exc)) for c in changed])
                retry = set(changed)
        if on_sync is not None:
            on_sync(Sync(report, changed, time.time(), time.monotonic() - started))
