"""RAG_CHROMA_URL: the same indexing and search against a real `chroma run` server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import IndexSettings, StoreUnavailableError, index_paths, open_store, remove_documents
from tests.fakes import HashEmbedder
from tests.servers import free_port, wait_until_up

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip(f"no chroma CLI next to {sys.executable}")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/v2/heartbeat", server, "chroma run", 60)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_index_search_and_remove_through_a_chroma_server(
    chroma_url: str, seeds: Path, tmp_path: Path
) -> None:
    settings = IndexSettings(chroma_url=chroma_url, store_dir=tmp_path / "unused")
    embedder = HashEmbedder()
    extra = seeds / "herring.md"
    extra.write_text("Herring is caught in the North Sea in June.", encoding="utf-8")

    first = index_paths([seeds], settings, embedder=embedder)
    again = index_paths([seeds], settings, embedder=embedder)

    assert len(first.added) == 2 and first.ok
    assert again.chunks_written == 0 and len(again.unchanged) == 2
    store, _ = open_store(settings, embedder)
    best = store.search(embedder.embed_query("herring North Sea"), 3)[0]
    assert best.chunk.source == str(extra.resolve()) and "June" in best.chunk.text
    assert not (tmp_path / "unused").exists()  # nothing went to the embedded store

    assert remove_documents([extra], settings) == [str(extra.resolve())]
    store, _ = open_store(settings, embedder)
    assert str(extra.resolve()) not in store.files()
    hits = store.search(embedder.embed_query("herring North Sea"), 10)
    assert hits and all(h.chunk.source != str(extra.resolve()) for h in hits)


def test_an_unreachable_server_says_how_to_start_one() -> None:
    settings = IndexSettings(chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreUnavailableError, match="chroma run --path"):
        open_store(settings, HashEmbedder())


def test_the_cli_indexes_into_the_server(
    chroma_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tulips.txt").write_text("Tulips bloom in April.", encoding="utf-8")
    monkeypatch.setenv("RAG_CHROMA_URL", chroma_url)
    monkeypatch.setenv("RAG_COLLECTION", "cli-test")
    rag = shutil.which("rag", path=str(Path(sys.executable).parent)) or "rag"

    out = subprocess.run([rag, "index", str(docs)], capture_output=True, text=True, timeout=300)

    assert out.returncode == 0, out.stderr
    assert f"Indexed into {chroma_url}: 1 added" in out.stdout
