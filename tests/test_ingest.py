"""Incremental indexing details: progress events, removal by path, interrupted writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import IndexSettings, Progress, index_paths, load, open_store, remove_documents
from tests.fakes import HashEmbedder, OtherHashEmbedder


def _folder(root: Path, n: int) -> Path:
    folder = root / "docs"
    folder.mkdir()
    for i in range(n):
        words = " ".join(f"word{i}x{j}" for j in range(90))
        (folder / f"f{i}.txt").write_text(f"File {i}. {words}.", encoding="utf-8")
    return folder


def test_progress_goes_scan_embed_done_with_an_eta(
    tmp_path: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    folder = _folder(tmp_path, 5)
    events: list[Progress] = []

    report = index_paths([folder], index_settings, embedder=embedder, progress=events.append)

    phases = [e.phase for e in events]
    assert phases == sorted(phases, key=["scan", "embed", "done"].index)
    assert phases.count("scan") == 5 and phases[-1] == "done"
    embed = [e for e in events if e.phase == "embed"]
    assert embed and all(e.eta_s is not None and e.eta_s >= 0 for e in embed)
    assert [e.chunks_done for e in embed] == sorted(e.chunks_done for e in embed)
    last = events[-1]
    assert last.chunks_done == last.chunks_total == report.chunks_written > 5
    assert last.files_done == last.files_total == 5 and last.eta_s == 0.0


def test_files_a_reader_now_reads_differently_are_read_again(
    tmp_path: Path,
    index_settings: IndexSettings,
    embedder: HashEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "page.html").write_text("<p>Pages about herons.</p>", encoding="utf-8")
    (folder / "notes.txt").write_text("Notes about eels.", encoding="utf-8")
    index_paths([folder], index_settings, embedder=embedder)
    assert len(index_paths([folder], index_settings, embedder=embedder).unchanged) == 2

    # A store built before the HTML reader changed holds HTML read the old way.
    monkeypatch.setitem(load.READER_VERSIONS, ".html", "next")
    report = index_paths([folder], index_settings, embedder=embedder)
    assert report.unchanged == [str(folder / "notes.txt")]
    assert len(index_paths([folder], index_settings, embedder=embedder).unchanged) == 2


def test_remove_documents_by_file_or_folder_whatever_the_model(
    tmp_path: Path, index_settings: IndexSettings
) -> None:
    folder = _folder(tmp_path, 3)
    (folder / "sub").mkdir()
    (folder / "sub" / "g.md").write_text("Nested notes about eels.", encoding="utf-8")
    index_paths([folder], index_settings, embedder=OtherHashEmbedder())

    # index_settings names the default model; the store was built with another one.
    assert remove_documents([folder / "f0.txt"], index_settings) == [str(folder / "f0.txt")]
    assert remove_documents([folder / "sub"], index_settings) == [str(folder / "sub" / "g.md")]
    assert remove_documents([tmp_path / "nothing-here"], index_settings) == []

    store, _ = open_store(index_settings, OtherHashEmbedder())
    assert sorted(Path(s).name for s in store.files()) == ["f1.txt", "f2.txt"]
    assert {h.chunk.source for h in store.search(np.ones(384, dtype=np.float32), 50)} == {
        str(folder / "f1.txt"),
        str(folder / "f2.txt"),
    }
    assert (folder / "f0.txt").exists()  # files on disk are not touched


def test_a_write_interrupted_after_its_pending_row_is_redone(
    tmp_path: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    folder = _folder(tmp_path, 2)
    index_paths([folder], index_settings, embedder=embedder)
    store, _ = open_store(index_settings, embedder)
    row = store.files()[str(folder / "f0.txt")]
    # What a run killed between the pending row and the final row leaves behind.
    store._files.upsert(ids=[row.source], embeddings=[[0.0]], metadatas=[{"pending": "0" * 64}])

    report = index_paths([folder], index_settings, embedder=embedder)

    assert report.updated == [row.source] and report.unchanged == [str(folder / "f1.txt")]
    assert store.files()[row.source] == row


def test_a_new_file_killed_mid_write_and_then_deleted_leaves_nothing_behind(
    tmp_path: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    folder = _folder(tmp_path, 2)
    index_paths([folder], index_settings, embedder=embedder)
    store, _ = open_store(index_settings, embedder)
    ghost = str(folder / "ghost.txt")
    # A killed run wrote the pending row and the chunks of a new file, then the file went away.
    store._files.upsert(
        ids=[ghost], embeddings=[[0.0]], metadatas=[{"file_hash": "", "chunks": 0, "pending": "ab"}]
    )
    store._chunks.upsert(
        ids=["ghost-1"],
        embeddings=[embedder.embed_query("ghost").tolist()],
        documents=["ghost"],
        metadatas=[{"source": ghost, "file_hash": "ab"}],
    )

    report = index_paths([folder], index_settings, embedder=embedder)

    assert report.removed == [ghost]
    assert ghost not in store.files() and not store.chunks_of(ghost)
