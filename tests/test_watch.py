"""Folder watch: new, changed and deleted files reach the store while the watcher runs, with
the bad-file handling and crash safety of `rag index`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from index import IndexSettings, MissingPathError, index_paths, open_store
from index.load import file_hash
from index.watch import Sync, sync_paths, watch_paths
from tests.fakes import HashEmbedder
from tests.test_crash_safety import _fresh_chroma, _settings, _state, _write_corpus

ROOT = Path(__file__).resolve().parent.parent


class Watcher:
    """watch_paths on a thread, with every Sync it reports."""

    def __init__(self, folder: Path, settings: IndexSettings, embedder: HashEmbedder) -> None:
        self.syncs: list[Sync] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=watch_paths,
            args=([folder], settings),
            kwargs={
                "embedder": embedder,
                "on_sync": self.syncs.append,
                "stop": self.stop,
                "quiet_ms": 100,
            },
            daemon=True,
        )

    def until(self, check: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert self.thread.is_alive(), "the watcher stopped"
            assert time.monotonic() < deadline, f"not synced in {timeout} s: {self.syncs}"
            time.sleep(0.05)


@pytest.fixture
def watched(tmp_path: Path, index_settings: IndexSettings) -> Iterator[tuple[Path, Watcher]]:
    folder = tmp_path / "watched"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Piaggio Aerospace was bought by Baykar.")
    (folder / "sub" / "b.md").write_text("Leonardo signed a deal in Rome.")
    watcher = Watcher(folder, index_settings, HashEmbedder())
    watcher.thread.start()
    watcher.until(lambda: len(watcher.syncs) >= 1)
    yield folder, watcher
    watcher.stop.set()
    watcher.thread.join(timeout=10)
    assert not watcher.thread.is_alive()


def _indexed(settings: IndexSettings) -> dict[str, int]:
    store, _ = open_store(settings, HashEmbedder())
    return {Path(s).name: r.chunks for s, r in store.files().items()}


def _searchable(settings: IndexSettings, text: str) -> set[str]:
    store, embedder = open_store(settings, HashEmbedder())
    return {Path(h.chunk.source).name for h in store.search(embedder.embed_query(text), 3)}


def test_the_first_sync_indexes_everything_watched(
    watched: tuple[Path, Watcher], index_settings: IndexSettings
) -> None:
    _, watcher = watched
    first = watcher.syncs[0]
    assert first.changed == () and sorted(map(Path, first.report.added)) == sorted(
        [watched[0] / "a.txt", watched[0] / "sub" / "b.md"]
    )
    assert set(_indexed(index_settings)) == {"a.txt", "b.md"}
    assert "full sync" in first.summary() and "2 added" in first.summary()


def test_new_changed_and_deleted_files_follow_the_folder(
    watched: tuple[Path, Watcher], index_settings: IndexSettings
) -> None:
    folder, watcher = watched
    (folder / "sub" / "c.txt").write_text("The Zorblat bridge opened in 1911.")
    watcher.until(lambda: "c.txt" in _indexed(index_settings))
    assert "c.txt" in _searchable(index_settings, "Zorblat bridge 1911")

    (folder / "a.txt").write_text("Piaggio Aerospace makes the Avanti aircraft now.")
    watcher.until(lambda: any(s.report.updated for s in watcher.syncs))
    assert "a.txt" in _searchable(index_settings, "Avanti aircraft")

    (folder / "sub" / "c.txt").unlink()
    watcher.until(lambda: "c.txt" not in _indexed(index_settings))
    shutil.rmtree(folder / "sub")
    watcher.until(lambda: set(_indexed(index_settings)) == {"a.txt"})
    assert all(s.changed for s in watcher.syncs[1:])


def test_a_save_by_rename_is_one_update(
    watched: tuple[Path, Watcher], index_settings: IndexSettings
) -> None:
    folder, watcher = watched
    tmp = folder / ".a.txt.swp"
    tmp.write_text("Piaggio Aerospace was sold for 300 million.")
    os.replace(tmp, folder / "a.txt")
    watcher.until(lambda: "a.txt" in _searchable(index_settings, "300 million sold"))
    assert _indexed(index_settings)["a.txt"] == 1
    assert not any(".swp" in p for s in watcher.syncs for p in s.changed)


def test_a_bad_file_is_reported_and_the_others_are_synced(
    watched: tuple[Path, Watcher], index_settings: IndexSettings
) -> None:
    folder, watcher = watched
    (folder / "broken.txt").write_bytes(b"\x00\x01 not text \x00")
    (folder / "good.txt").write_text("Fenna Kuipers opened the bridge.")
    (folder / "notes.xyz").write_text("not a supported type: ignored, not reported")
    watcher.until(lambda: "good.txt" in _indexed(index_settings))
    watcher.until(lambda: any(s.report.failed for s in watcher.syncs))
    failed = [f for s in watcher.syncs for f in s.report.failed]
    assert [(Path(p).name, "binary" in why) for p, why in failed] == [("broken.txt", True)]
    assert "broken.txt" not in _indexed(index_settings)
    assert "1 failed" in next(s for s in watcher.syncs if s.report.failed).summary()


def test_a_sync_the_store_refuses_is_reported_and_retried_with_the_next_change(
    tmp_path: Path, index_settings: IndexSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.watch
    from index import StoreUnavailableError

    calls: list[list[Path]] = []

    def store_down_once(changed: list[Path], *args: Any) -> Any:
        calls.append(list(changed))
        if len(calls) == 1:
            raise StoreUnavailableError("Cannot reach the Chroma server (test).")
        return sync_paths(changed, *args)

    monkeypatch.setattr(index.watch, "sync_paths", store_down_once)
    folder = tmp_path / "w"
    folder.mkdir()
    watcher = Watcher(folder, index_settings, HashEmbedder())
    watcher.thread.start()
    try:
        watcher.until(lambda: len(watcher.syncs) >= 1)
        (folder / "a.txt").write_text("Piaggio Aerospace.")
        watcher.until(lambda: len(watcher.syncs) >= 2)
        assert "Cannot reach" in watcher.syncs[1].report.failed[0][1]
        (folder / "b.txt").write_text("Leonardo.")
        watcher.until(lambda: set(_indexed(index_settings)) == {"a.txt", "b.txt"})
    finally:
        watcher.stop.set()
        watcher.thread.join(timeout=10)


def test_sync_goes_by_what_is_on_disk(tmp_path: Path, index_settings: IndexSettings) -> None:
    embedder = HashEmbedder()
    doc = tmp_path / "d.txt"
    doc.write_text("Baykar and Leonardo.")
    assert [Path(p).name for p in sync_paths([doc], index_settings, embedder).added] == ["d.txt"]
    doc.unlink()
    report = sync_paths([doc, tmp_path / "never.txt"], index_settings, embedder)
    assert [Path(p).name for p in report.removed] == ["d.txt"] and report.ok


def test_a_missing_folder_is_refused(tmp_path: Path, index_settings: IndexSettings) -> None:
    with pytest.raises(MissingPathError, match="no such file or folder to watch"):
        watch_paths([tmp_path / "nope"], index_settings, embedder=HashEmbedder())


def test_rag_index_watch_prints_a_line_per_sync_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Baykar bought Piaggio Aerospace.")
    # Ctrl+C as in a terminal, also when these tests run with SIGINT ignored (a shell starts
    # background jobs so, and the child would inherit it: a fresh-clone run in session 13 did)
    ctrl_c_as_in_a_terminal = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'rag'; runpy.run_module('ui.cli', run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", ctrl_c_as_in_a_terminal, "index", "--watch", str(folder)],
        cwd=ROOT,
        env={**os.environ, "RAG_STORE_DIR": str(tmp_path / "store")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    guard = threading.Timer(120, proc.kill)  # never hang on a watcher that stays silent
    guard.start()
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if "full sync" in line:
                (folder / "b.txt").write_text("Leonardo sold its share.")
            if "changed path" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        guard.cancel()
        proc.kill()
    assert lines[0].startswith("Watching") and "full sync" in lines[1] and "1 added" in lines[1]
    assert "1 changed path(s)" in lines[2] and "1 added" in lines[2], lines
    assert "Stopped watching." in out and proc.returncode == 0 and "Traceback" not in err


# --- crash safety: SIGKILL a watcher in the middle of a sync ----------------------------------
def _run_watch_child(folder: Path, store: Path, kill_after: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.test_watch", "--child", str(folder), str(store)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = 0
    # A sync with fewer writes than kill_after would leave the watcher waiting forever.
    guard = threading.Timer(60, proc.kill)
    guard.start()
    try:
        for line in proc.stdout:
            if line.startswith("synced") and seen == 0:
                _write_corpus(folder, 2)  # the change the watcher syncs, and is killed in
            if line.startswith(("before", "after")):
                seen += 1
                if seen == kill_after:
                    break
        else:
            pytest.fail(f"the watcher stopped before write {kill_after}")
    finally:
        guard.cancel()
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("kill_after", [3, 20])
def test_a_watcher_killed_mid_sync_leaves_a_store_the_next_run_heals(
    tmp_path: Path, kill_after: int
) -> None:
    folder, store, expected = tmp_path / "docs", tmp_path / "store", tmp_path / "expected"
    _write_corpus(folder, 1)
    index_paths([folder], _settings(store), embedder=HashEmbedder())

    _run_watch_child(folder, store, kill_after)

    _fresh_chroma()
    st, embedder = open_store(_settings(store), HashEmbedder())
    assert st.search(embedder.embed_query("topic20 revision"), 5)
    index_paths([folder], _settings(store), embedder=HashEmbedder())
    index_paths([folder], _settings(expected), embedder=HashEmbedder())
    ids, files = _state(store)
    want_ids, want_files = _state(expected)
    assert sorted(ids) == sorted(want_ids) and files == want_files
    assert all(not r.pending and r.file_hash == file_hash(Path(s)) for s, r in files.items())


def _child(folder: str, store: str) -> None:
    """Watch `folder`, announcing each Chroma write once the first sync is done."""
    from chromadb.api.models.Collection import Collection

    import index.pipeline

    index.pipeline._WRITE_CHUNKS = 12  # several write rounds even on a small corpus
    live = threading.Event()

    def announce(name: str) -> Any:
        original = getattr(Collection, name)

        def wrapper(self: Collection, *args: Any, **kwargs: Any) -> Any:
            if live.is_set():
                print(f"before {name} {self.name}", flush=True)
                time.sleep(0.02)  # lets the kill land before the write starts
            result = original(self, *args, **kwargs)
            if live.is_set():
                print(f"after {name} {self.name}", flush=True)
            return result

        return wrapper

    for name in ("upsert", "delete"):
        setattr(Collection, name, announce(name))

    def synced(sync: Sync) -> None:
        print("synced", sync.summary(), flush=True)
        live.set()

    watch_paths([folder], _settings(Path(store)), embedder=HashEmbedder(), on_sync=synced)


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _child(sys.argv[2], sys.argv[3])
