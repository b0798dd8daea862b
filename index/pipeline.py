"""Indexing: find files -> hash -> load and chunk the changed ones -> embed -> store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.batches import batches_at_once, embed_batches
from index.chunk import Chunk, chunk
from index.embed import Embedder, canonical_model_name, open_embedder
from index.errors import DocumentError
from index.load import file_hash, find_files, load_file
from index.settings import IndexSettings
from index.store import FileChunks, FileRecord, Store

# Finished files are written together once this many chunks or seconds have piled up: each
# Chroma write has a large fixed cost, so few large writes beat many small ones, and the time
# bound caps the embedding work a killed run loses.
_WRITE_CHUNKS = 4096
_WRITE_SECONDS = 10.0


@dataclass(frozen=True)
class Progress:
    """Where a run is: handed to the progress callback after each file scanned and batch embedded.

    `phase` is "scan" while files are hashed, read and chunked (chunks_total still growing),
    "embed" while chunks are embedded and written, and "done" at the end. `eta_s` is None
    until there is a rate to extrapolate from.
    """

    files_done: int
    files_total: int
    current: str
    chunks_done: int
    chunks_total: int = 0
    phase: str = "embed"
    elapsed_s: float = 0.0
    eta_s: float | None = None
    files_scanned: int = 0


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.failed)} failed; {self.chunks_written} chunks written"
        )


def open_store(settings: IndexSettings, embedder: Embedder | None = None) -> tuple[Store, Embedder]:
    embedder = embedder or open_embedder(settings)
    return Store(settings, canonical_model_name(embedder.name)), embedder


@dataclass
class _Job:
    """A new or changed file, read and chunked, waiting for its vectors."""

    source: str
    digest: str
    chunks: list[Chunk]
    previous: FileRecord | None
    vectors: list[np.ndarray] = field(default_factory=list)


class _Tracker:
    """Counts work done and turns it into Progress events with an ETA."""

    def __init__(self, files_total: int, callback: Callable[[Progress], None] | None) -> None:
        self.files_total = files_total
        self.callback = callback
        self.files_done = self.files_scanned = self.chunks_done = self.chunks_total = 0
        self.started = self.embed_started = time.monotonic()

    def emit(self, phase: str, current: str = "") -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        eta = None
        if phase == "embed" and self.chunks_done:
            rate = self.chunks_done / max(now - self.embed_started, 1e-6)
            eta = (self.chunks_total - self.chunks_done) / rate
        elif phase == "done":
            eta = 0.0
        self.callback(
            Progress(
                self.files_done,
                self.files_total,
                current,
                self.chunks_done,
                self.chunks_total,
                phase,
                now - self.started,
                eta,
                self.files_scanned,
            )
        )


def index_paths(
    paths: Iterable[str | Path],
    settings: IndexSettings | None = None,
    *,
    embedder: Embedder | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> IndexReport:
    """Bring the store in line with `paths`: new and changed files indexed, deleted ones removed.

    A file whose content hash is already in the store costs no embedding work. A file that
    fails is reported in the result and leaves the store as it was for that file. The run can
    be killed at any moment: the store keeps answering, and the next run completes it.
    """
    settings = settings or IndexSettings()
    paths = list(paths)
    files, skipped = find_files(paths)
    store, embedder = open_store(settings, embedder)
    report = IndexReport(failed=[(str(p), why) for p, why in skipped])
    known = store.files()
    tracker = _Tracker(len(files), progress)

    jobs = _scan(files, known, settings, report, tracker)
    _embed_and_write(jobs, store, embedder, settings, report, tracker)

    report.removed = _remove_deleted(store, known, paths, {str(f) for f in files})
    tracker.emit("done")
    return report


def index_chunked(
    files: Iterable[tuple[str, str, list[Chunk]]],
    settings: IndexSettings | None = None,
    *,
    embedder: Embedder | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> IndexReport:
    """Write already-chunked documents — (source, content hash, chunks) — through the same
    embed-and-write stage as `index_paths`: for benchmarks whose passages are the unit.

    A source whose hash the store holds is left alone; the rest are embedded in full batches
    and written with the same crash safety. Sources not given are not removed.
    """
    settings = settings or IndexSettings()
    store, embedder = open_store(settings, embedder)
    known = store.files()
    report = IndexReport()
    jobs = []
    for source, digest, chunks in files:
        previous = known.get(source)
        if previous and previous.file_hash == digest and not previous.pending:
            report.unchanged.append(source)
        else:
            jobs.append(_Job(source, digest, chunks, previous))
    tracker = _Tracker(len(jobs), progress)
    tracker.chunks_total = sum(len(j.chunks) for j in jobs)
    _embed_and_write(jobs, store, embedder, settings, report, tracker)
    tracker.emit("done")
    return report


def _scan(
    files: list[Path],
    known: Mapping[str, FileRecord],
    settings: IndexSettings,
    report: IndexReport,
    tracker: _Tracker,
) -> list[_Job]:
    """Hash every file; read and chunk those whose content the store does not hold yet."""
    limit = int(settings.max_file_mb * 1024 * 1024)
    jobs = []
    for path in files:
        source = str(path)
        try:
            job = _read(path, known.get(source), settings, limit)
        except DocumentError as exc:
            report.failed.append((exc.path, exc.reason))
            tracker.files_done += 1
        except FileNotFoundError:
            report.failed.append((source, "disappeared while indexing"))
            tracker.files_done += 1
        except OSError as exc:
            report.failed.append((source, f"cannot be read ({exc.strerror or exc})"))
            tracker.files_done += 1
        else:
            if job is None:
                report.unchanged.append(source)
                tracker.files_done += 1
            else:
                jobs.append(job)
                tracker.chunks_total += len(job.chunks)
        tracker.files_scanned += 1
        tracker.emit("scan", source)
    return jobs


def _read(
    path: Path, previous: FileRecord | None, settings: IndexSettings, limit: int
) -> _Job | None:
    """The file chunked, or None when the store already holds this exact content."""
    source = str(path)
    size = path.stat().st_size
    if size > limit:
        raise DocumentError(
            source,
            f"is {size / 2**20:.1f} MB, over the {settings.max_file_mb:g} MB "
            "limit (raise RAG_MAX_FILE_MB to index it)",
        )
    digest = file_hash(path)
    if previous and previous.file_hash == digest and not previous.pending:
        return None
    chunks = chunk(load_file(path), digest, settings.chunk_size, settings.chunk_overlap)
    if file_hash(path) != digest:
        raise DocumentError(source, "changed while being read; run the index again")
    return _Job(source, digest, chunks, previous)


def _embed_and_write(
    jobs: list[_Job],
    store: Store,
    embedder: Embedder,
    settings: IndexSettings,
    report: IndexReport,
    tracker: _Tracker,
) -> None:
    """Embed chunks in full batches across file boundaries; write files as they complete."""
    queue = [(job, i) for job in jobs for i in range(len(job.chunks))]
    ready: list[_Job] = []
    pending = 0  # chunks in `ready`
    last_write = tracker.embed_started = time.monotonic()

    def write() -> None:
        nonlocal last_write, pending
        store.put_files(
            [FileChunks(j.source, j.digest, j.chunks, _stack(j.vectors)) for j in ready]
        )
        for j in ready:
            (report.updated if j.previous else report.added).append(j.source)
            report.chunks_written += len(j.chunks)
            j.chunks, j.vectors = [], []  # written: let a large run's memory go
        tracker.files_done += len(ready)
        ready.clear()
        pending = 0
        last_write = time.monotonic()

    for job in jobs:
        if not job.chunks:  # nothing to embed, but the write still clears stale chunks
            ready.append(job)
    batches = (
        queue[start : start + settings.embed_batch]
        for start in range(0, len(queue), settings.embed_batch)
    )
    workers = batches_at_once(embedder, settings)
    with closing(embed_batches(batches, _texts, embedder, workers)) as embedded:
        for batch, vectors in embedded:
            for (job, i), vector in zip(batch, vectors, strict=True):
                job.vectors.append(vector)
                if i == len(job.chunks) - 1:
                    ready.append(job)
                    pending += len(job.chunks)
            tracker.chunks_done += len(batch)
            late = ready and time.monotonic() - last_write > _WRITE_SECONDS
            if pending >= _WRITE_CHUNKS or late:
                write()
            tracker.emit("embed", batch[-1][0].source)
    if ready:
        write()


def _texts(batch: list[tuple[_Job, int]]) -> list[str]:
    return [job.chunks[i].text for job, i in batch]


def _stack(vectors: list[np.ndarray]) -> np.ndarray:
    return np.vstack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)


def remove_documents(
    sources: Iterable[str | Path], settings: IndexSettings | None = None
) -> list[str]:
    """Remove files (or every file under a folder) from the store; returns what was removed.

    Works by path, not by content, and needs no embedding model. Files on disk are untouched.
    """
    settings = settings or IndexSettings()
    # Removing needs no vectors, so it works whatever model the store was built with.
    store = Store(settings, canonical_model_name(settings.embed_model), check_model=False)
    targets = [Path(s).expanduser().resolve() for s in sources]
    removed = []
    for source in store.files():
        path = Path(source)
        if any(path == t or path.is_relative_to(t) for t in targets):
            store.delete_file(source)
            removed.append(source)
    return removed


def _remove_deleted(
    store: Store, known: Mapping[str, FileRecord], paths: list[str | Path], present: set[str]
) -> list[str]:
    """Drop files that were indexed from one of the given folders and are gone from disk."""
    folders = [Path(p).expanduser().resolve() for p in paths if Path(p).is_dir()]
    removed = []
    for source in known:
        if source in present or Path(source).exists():
            continue
        if any(Path(source).is_relative_to(folder) for folder in folders):
            store.delete_file(source)
            removed.append(source)
    return removed
