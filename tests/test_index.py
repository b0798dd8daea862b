from __future__ import annotations

from pathlib import Path

import pytest

from index import IndexSettings, ModelMismatchError, index_paths, open_store
from tests.fakes import HashEmbedder, OtherHashEmbedder


def _chunk_ids(settings: IndexSettings, embedder: HashEmbedder) -> list[str]:
    store, _ = open_store(settings, embedder)
    return sorted(store._chunks.get(include=[])["ids"])


def test_reindexing_unchanged_files_embeds_nothing_and_adds_nothing(
    seeds: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    first = index_paths([seeds], index_settings, embedder=embedder)
    embedded = embedder.passages_embedded
    ids = _chunk_ids(index_settings, embedder)
    assert first.added and embedded == len(ids) > 0

    second = index_paths([seeds], index_settings, embedder=embedder)

    assert second.unchanged == first.added and not second.added
    assert embedder.passages_embedded == embedded
    assert _chunk_ids(index_settings, embedder) == ids


def test_a_changed_file_replaces_its_old_chunks(
    tmp_path: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    doc = tmp_path / "note.txt"
    doc.write_text("The old text mentions apples. " * 30, encoding="utf-8")
    index_paths([doc], index_settings, embedder=embedder)
    doc.write_text("The new text mentions pears only.", encoding="utf-8")

    report = index_paths([doc], index_settings, embedder=embedder)

    store, _ = open_store(index_settings, embedder)
    texts = [c.text for c in store.chunks_of(str(doc))]
    assert report.updated == [str(doc)]
    assert texts == ["The new text mentions pears only."]
    assert store.files()[str(doc)].chunks == 1


def test_files_deleted_from_an_indexed_folder_are_removed(
    seeds: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    extra = seeds / "extra.md"
    extra.write_text("Extra notes about herring.", encoding="utf-8")
    index_paths([seeds], index_settings, embedder=embedder)
    extra.unlink()

    report = index_paths([seeds], index_settings, embedder=embedder)

    store, _ = open_store(index_settings, embedder)
    assert report.removed == [str(extra.resolve())]
    assert str(extra.resolve()) not in store.files()
    assert not store.chunks_of(str(extra.resolve()))


def test_one_bad_file_does_not_stop_the_others(
    seeds: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    (seeds / "bad.txt").write_bytes(b"\x00\xff\x00binary")
    report = index_paths([seeds], index_settings, embedder=embedder)
    assert len(report.added) == 1 and not report.ok
    assert report.failed[0][0].endswith("bad.txt")


def test_querying_with_another_embedding_model_fails_clearly(
    seeds: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    index_paths([seeds], index_settings, embedder=embedder)
    with pytest.raises(ModelMismatchError, match="RAG_EMBED_MODEL=test/hash-embedder"):
        open_store(index_settings, OtherHashEmbedder())
