"""SIGKILL an indexing process at many points; the store must answer and the rerun must heal.

The child process (this module run with `--child`) indexes a folder and prints a marker
before and after every Chroma write; the test kills it right after a chosen marker. It embeds
in-process, or through an embedding server with several batches in flight (RAG_EMBED_BASE_URL).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index import IndexSettings, index_paths, open_store
from index.load import file_hash
from tests.embed_server import ScriptedEmbeddings, hash_server
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent


def _settings(store: Path, embed_url: str | None = None) -> IndexSettings:
    served = {"embed_base_url": embed_url, "embed_model": HashEmbedder.name, "embed_concurrency": 4}
    return IndexSettings(
        store_dir=store,
        chunk_size=40,
        chunk_overlap=10,
        embed_batch=4,
        **(served if embed_url else {}),
    )


def _write_corpus(folder: Path, version: int) -> None:
    """Version 1: 30 files. Version 2: 10 of them changed, 5 deleted, 6 new."""
    folder.mkdir(exist_ok=True)
    for i in range(30):
        path = folder / f"doc{i:02d}.txt"
        if version == 2 and i < 5:
            path.unlink(missing_ok=True)
            continue
        rev = 2 if version == 2 and i < 15 else 1
        words = " ".join(f"w{i}r{rev}x{j}" for j in range(70))
        path.write_text(f"Document {i} revision {rev} about topic{i}. {words}.", encoding="utf-8")
    if version == 2:
        for i in range(6):
            (folder / f"new{i}.md").write_text(
                f"New file {i} about fresh{i}. " + " ".join(f"n{i}x{j}" for j in range(60)),
                encoding="utf-8",
            )


def _fresh_chroma() -> None:
    # The parent reopens stores a child process has written: don't reuse a cached client.
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _state(store: Path) -> tuple[list[str], dict[str, Any]]:
    _fresh_chroma()
    st, _ = open_store(_settings(store), HashEmbedder())
    ids = st._chunks.get(include=[])["ids"]
    return ids, st.files()


def _run_child(folder: Path, store: Path, kill_after: int | None, embed_url: str = "") -> bool:
    """Run the child; kill it after marker number `kill_after`. True if it was killed."""
    child = ["-m", "tests.test_crash_safety", "--child", str(folder), str(store), embed_url]
    proc = subprocess.Popen(
        [sys.executable, *child],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        if line.startswith(("before", "after")):
            seen += 1
            if seen == kill_after:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
    assert proc.wait(timeout=60) == 0
    return False


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Version 1 indexed, version 2 on disk, and the chunk ids a clean run of version 2 makes."""
    base = tmp_path_factory.mktemp("crash")
    folder, v1_store, expected_store = base / "docs", base / "v1-store", base / "expected"
    _write_corpus(folder, 1)
    index_paths([folder], _settings(v1_store), embedder=HashEmbedder())
    _write_corpus(folder, 2)
    index_paths([folder], _settings(expected_store), embedder=HashEmbedder())
    ids, files = _state(expected_store)
    return {"base": base, "folder": folder, "v1": v1_store, "ids": ids, "files": files}


@pytest.fixture(scope="module")
def embed_url() -> Iterator[str]:
    """A server of the same vectors, slow enough that several batches are in flight."""
    with hash_server(ScriptedEmbeddings(delay_s=0.02)) as server:
        yield server.url


# Markers come in before/after pairs around each write: odd numbers kill before a write
# starts, even ones right after it returns. Spread over the whole run (64 markers: 11 write
# rounds of pending rows, chunks, stale deletes and final rows, then 5 deleted files).
KILL_POINTS = [1, 4, 11, 24, 41, 58]
# The server path: the same writes, with embedding requests in flight when the kill lands.
SERVED_KILL_POINTS = [4, 41]


@pytest.mark.parametrize(
    ("kill_after", "served"),
    [(k, False) for k in KILL_POINTS] + [(k, True) for k in SERVED_KILL_POINTS],
    ids=[f"in-process-{k}" for k in KILL_POINTS] + [f"served-{k}" for k in SERVED_KILL_POINTS],
)
def test_killed_run_leaves_a_queryable_store_and_the_rerun_heals_it(
    world: dict[str, Any], embed_url: str, kill_after: int, served: bool
) -> None:
    store = world["base"] / f"store-{kill_after}-{'served' if served else 'local'}"
    shutil.copytree(world["v1"], store)
    url = embed_url if served else ""

    killed = _run_child(world["folder"], store, kill_after, url)

    # A full run of this corpus prints 64 markers; a run that ends first means the corpus or
    # the write order changed, and the kill points need spreading again.
    assert killed, f"the run ended before marker {kill_after}; lower the kill point"
    _fresh_chroma()
    st, embedder = open_store(_settings(store), HashEmbedder())
    assert st.search(embedder.embed_query("topic20 revision"), 5)

    _run_child(world["folder"], store, kill_after=None, embed_url=url)

    ids, files = _state(store)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(world["ids"])
    assert files == world["files"]
    assert all(not r.pending and r.file_hash == file_hash(Path(s)) for s, r in files.items())


def _child(folder: str, store: str, embed_url: str) -> None:
    """Index `folder` with many small writes, announcing each Chroma write on stdout."""
    from chromadb.api.models.Collection import Collection

    import index.pipeline

    index.pipeline._WRITE_CHUNKS = 12  # several write rounds even on a small corpus

    def announce(name: str) -> Any:
        original = getattr(Collection, name)

        def wrapper(self: Collection, *args: Any, **kwargs: Any) -> Any:
            print(f"before {name} {self.name}", flush=True)
            time.sleep(0.02)  # lets the kill land before the write starts
            result = original(self, *args, **kwargs)
            print(f"after {name} {self.name}", flush=True)
            return result

        return wrapper

    for name in ("upsert", "delete"):
        setattr(Collection, name, announce(name))
    settings = _settings(Path(store), embed_url or None)
    # Served: the embedder comes from the settings, as in `rag index`.
    report = index_paths([folder], settings, embedder=None if embed_url else HashEmbedder())
    print("done", report.summary(), flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _child(sys.argv[2], sys.argv[3], sys.argv[4])
