"""Indexing: find files -> load -> chunk -> embed -> store, one file at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.chunk import chunk
from index.embed import Embedder, canonical_model_name, load_embedder
from index.errors import DocumentError
from index.load import file_hash, find_files, load_file
from index.settings import IndexSettings
from index.store import Store


@dataclass
class Progress:
    """Where a run is: handed to the progress callback after every embedded batch."""

    files_done: int
    files_total: int
    current: str
    chunks_done: int


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
    embedder = embedder or load_embedder(settings.embed_model, str(settings.cache_dir / "hf"))
    return Store(settings, canonical_model_name(embedder.name)), embedder


def _embed(
    texts: list[str], embedder: Embedder, batch: int, tick: Callable[[int], None]
) -> np.ndarray:
    parts = []
    for i in range(0, len(texts), batch):
        parts.append(embedder.embed_passages(texts[i : i + batch]))
        tick(len(parts[-1]))
    return np.vstack(parts) if parts else np.zeros((0, 1), dtype=np.float32)


def index_paths(
    paths: Iterable[str | Path],
    settings: IndexSettings | None = None,
    *,
    embedder: Embedder | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> IndexReport:
    """Bring the store in line with `paths`: new and changed files indexed, deleted ones removed.

    A file whose content hash is already in the store costs no embedding work. A file that
    fails is reported in the result and leaves the store as it was for that file.
    """
    settings = settings or IndexSettings()
    paths = list(paths)
    files, skipped = find_files(paths)
    store, embedder = open_store(settings, embedder)
    report = IndexReport(failed=[(str(p), why) for p, why in skipped])
    known = store.files()
    chunks_done = 0
    limit = int(settings.max_file_mb * 1024 * 1024)

    for done, path in enumerate(files):
        source = str(path)

        def tick(n: int, source: str = source, done: int = done) -> None:
            nonlocal chunks_done
            chunks_done += n
            if progress:
                progress(Progress(done, len(files), source, chunks_done))

        try:
            size = path.stat().st_size
            if size > limit:
                raise DocumentError(
                    source,
                    f"is {size / 2**20:.1f} MB, over the {settings.max_file_mb:g} MB "
                    "limit (raise RAG_MAX_FILE_MB to index it)",
                )
            digest = file_hash(path)
            previous = known.get(source)
            if previous and previous.file_hash == digest:
                report.unchanged.append(source)
                tick(0)
                continue
            chunks = chunk(load_file(path), digest, settings.chunk_size, settings.chunk_overlap)
            vectors = _embed([c.text for c in chunks], embedder, settings.embed_batch, tick)
            store.put_file(source, digest, chunks, vectors)
        except DocumentError as exc:
            report.failed.append((exc.path, exc.reason))
            continue
        except FileNotFoundError:
            report.failed.append((source, "disappeared while indexing"))
            continue
        except OSError as exc:
            report.failed.append((source, f"cannot be read ({exc.strerror or exc})"))
            continue
        (report.updated if previous else report.added).append(source)
        report.chunks_written += len(chunks)

    report.removed = _remove_deleted(store, known, paths, {str(f) for f in files})
    if progress:
        progress(Progress(len(files), len(files), "", chunks_done))
    return report


def _remove_deleted(
    store: Store, known: Mapping[str, object], paths: list[str | Path], present: set[str]
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
