"""Each kind of bad file is reported with its reason; the good ones are indexed regardless."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import IndexSettings, Progress, index_paths, open_store
from tests.fakes import HashEmbedder
from ui.cli import main


def _bad_folder(folder: Path) -> dict[str, str]:
    """Write good and bad files; return each bad file's name and the words its reason holds."""
    folder.mkdir()
    (folder / "good.txt").write_text("Herring is caught in the North Sea.", encoding="utf-8")
    (folder / "good.md").write_text("# Tulips\n\nTulips bloom in April.", encoding="utf-8")
    # A large file under the limit is fine: ~60k words.
    (folder / "large.txt").write_text(
        "".join(f"Windmill {i} pumps water out of polder {i}. " for i in range(8_000))
    )
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\n")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin1.txt").write_bytes(
        "Caf\u00e9 au lait, cr\u00e8me br\u00fbl\u00e9e.".encode("latin-1")
    )
    (folder / "huge.txt").write_text("Far too many words here. " * 30_000)
    (folder / "vanishing.txt").write_text("Gone before it was read.", encoding="utf-8")
    return {
        "corrupt.pdf": "cannot be read as PDF",
        "binary.txt": "binary",
        "empty.txt": "no text",
        "latin1.txt": "not valid UTF-8",
        "huge.txt": "over the 0.5 MB limit",
        "vanishing.txt": "disappeared",
    }


def test_bad_files_are_reported_and_the_rest_indexed(
    tmp_path: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    folder = tmp_path / "mixed"
    expected = _bad_folder(folder)
    settings = index_settings.model_copy(update={"max_file_mb": 0.5})

    def delete_vanishing(p: Progress) -> None:
        # Files are scanned in name order: the one after "latin1.txt" is gone when we get there.
        if p.current.endswith("latin1.txt"):
            (folder / "vanishing.txt").unlink(missing_ok=True)

    report = index_paths([folder], settings, embedder=embedder, progress=delete_vanishing)

    reasons = {Path(path).name: why for path, why in report.failed}
    assert set(reasons) == set(expected)
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons[name])
    assert sorted(Path(p).name for p in report.added) == ["good.md", "good.txt", "large.txt"]
    assert "3 added" in report.summary() and "6 failed" in report.summary()
    store, _ = open_store(settings, embedder)
    assert set(store.files()) == {str(folder / n) for n in ("good.md", "good.txt", "large.txt")}
    # Searchable (within the good files: over thousands of hash vectors the approximate
    # index does not always rank the one true neighbour first, which is not what this tests).
    good = [str(folder / "good.md"), str(folder / "good.txt")]
    hit = store.search(embedder.embed_query("tulips April"), 1, good)[0]
    assert hit.chunk.text.endswith("April.")


def test_the_cli_lists_failures_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "mixed"
    _bad_folder(folder)
    (folder / "large.txt").unlink()  # keeps the real embedder's work to three short files
    monkeypatch.setenv("RAG_MAX_FILE_MB", "0.5")

    code = main(["index", str(folder)])

    out, err = capsys.readouterr()
    assert code == 1
    assert "3 added" in out and "5 failed" in out
    for name in ("corrupt.pdf", "binary.txt", "empty.txt", "latin1.txt", "huge.txt"):
        assert f"{name}: " in err
