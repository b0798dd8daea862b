"""A benchmark's own store: each passage indexed once as one chunk, reused while unchanged.

Benchmarks judge retrieval per passage, so a passage is the unit that is embedded (the
embedder truncates what it cannot read), stored under its id as its `source`. The store's
manifest (source -> content hash) makes a rerun embed only new or changed passages. A folder
of documents goes through `index_paths`, exactly as `rag index` would index it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from index import Embedder, IndexSettings, Progress, Store, index_paths, open_store
from index.chunk import Chunk, sentence_spans
from index.pipeline import index_chunked
from rag.eval.datasets import Dataset, EvalDataError, Passage


def eval_store_settings(base: IndexSettings, dataset: str) -> IndexSettings:
    """Settings of a benchmark's store: under RAG_CACHE_DIR/eval, never the user's store."""
    model = base.embed_model.replace("/", "_")
    store_dir = Path(base.cache_dir) / "eval" / f"{dataset}--{model}"
    return base.model_copy(update={"store_dir": store_dir, "chroma_url": None})


def _digest(passage: Passage) -> str:
    return hashlib.sha256(f"{passage.title}\n{passage.text}".encode()).hexdigest()


def _chunk(passage: Passage, digest: str) -> Chunk:
    return Chunk(
        id=f"{passage.id}-{digest[:16]}",
        text=passage.text,
        source=passage.id,
        title=passage.title,
        page=None,
        start=0,
        end=len(passage.text),
        file_hash=digest,
        spans=sentence_spans(passage.text),
    )


def index_dataset(
    dataset: Dataset,
    settings: IndexSettings,
    embedder: Embedder | None = None,
    *,
    show_progress: bool = True,
) -> tuple[Store, Embedder, int]:
    """Bring the benchmark's store in line with its passages; returns how many were embedded."""
    from tqdm import tqdm

    store, embedder = open_store(settings, embedder)
    if dataset.documents is not None:
        with tqdm(desc=f"indexing {dataset.name}", unit="chunk", disable=not show_progress) as bar:

            def update(p: Progress) -> None:
                bar.total, bar.n = max(p.chunks_total, 1), p.chunks_done
                bar.refresh()

            report = index_paths([dataset.documents], settings, embedder=embedder, progress=update)
        if report.failed:
            failed = "; ".join(f"{path}: {why}" for path, why in report.failed)
            raise EvalDataError(f"Some documents of {dataset.name} could not be indexed: {failed}")
        return store, embedder, report.chunks_written
    wanted = {p.id for p in dataset.passages}
    for source in set(store.files()) - wanted:
        store.delete_file(source)
    # Passages are the unit benchmarks judge, so each is one chunk; they are embedded and
    # written by the same stage as `rag index` (index.pipeline.index_chunked).
    with tqdm(desc=f"indexing {dataset.name}", unit="passage", disable=not show_progress) as bar:

        def advance(p: Progress) -> None:
            bar.total, bar.n = max(p.chunks_total, 1), p.chunks_done
            bar.refresh()

        report = index_chunked(
            ((p.id, d, [_chunk(p, d)]) for p in dataset.passages for d in [_digest(p)]),
            settings,
            embedder=embedder,
            progress=advance,
        )
    return store, embedder, report.chunks_written
