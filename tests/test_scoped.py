"""Questions limited to chosen documents: the filter runs in the store and keyword queries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index import Hit, IndexSettings, UnknownSourceError, index_paths, open_store
from index.keyword import KeywordIndex
from rag import Engine, RagSettings
from tests.fakes import HashEmbedder, ScriptedLLM
from ui.cli import main


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """Three documents that all speak of Piaggio; two of them in a `minutes` folder."""
    root = tmp_path / "library"
    (root / "minutes").mkdir(parents=True)
    (root / "report.txt").write_text("Piaggio Aerospace was sold to Baykar for 300 million.")
    (root / "minutes" / "march.txt").write_text("Piaggio Aerospace hired 40 engineers in March.")
    (root / "minutes" / "april.txt").write_text("Piaggio Aerospace opened a plant in April.")
    return root


@pytest.fixture
def engine(
    library: Path, rag_settings: RagSettings, embedder: HashEmbedder, llm: ScriptedLLM
) -> Engine:
    index_paths([library], rag_settings.index, embedder=embedder)
    return Engine(rag_settings, embedder=embedder, llm=llm)


def _sources(hits: list[Hit]) -> set[str]:
    return {Path(h.chunk.source).name for h in hits}


def test_unscoped_questions_search_every_document(engine: Engine) -> None:
    hits = engine.retrieve("Piaggio Aerospace")
    assert _sources(hits) == {"report.txt", "march.txt", "april.txt"}


def test_a_file_scope_retrieves_and_cites_only_that_file(
    engine: Engine, llm: ScriptedLLM, library: Path
) -> None:
    llm.enqueue("It hired 40 engineers [1].")
    answer = engine.ask("How many engineers did Piaggio hire?", sources=[library / "report.txt"])
    assert {Path(s.source).name for s in answer.sources} == {"report.txt"}
    assert all(c.source.endswith("report.txt") for c in answer.citations)
    # The model was shown nothing from the minutes, so it could not cite them.
    assert "40 engineers" not in llm.prompts[0][-1]["content"]


def test_a_folder_scope_covers_the_files_indexed_under_it(engine: Engine, library: Path) -> None:
    scope = engine.scope([str(library / "minutes") + "/"])
    assert [Path(s).name for s in scope or []] == ["april.txt", "march.txt"]
    hits = engine.retrieve("Piaggio Aerospace sold Baykar 300 million", scope)
    assert _sources(hits) == {"march.txt", "april.txt"}


def test_relative_paths_name_the_documents_as_indexed(
    engine: Engine, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(library)
    assert engine.scope(["minutes/march.txt", "report.txt"]) == [
        str(library / "minutes" / "march.txt"),
        str(library / "report.txt"),
    ]
    assert engine.scope([]) is None and engine.scope(None) is None


def test_a_path_with_nothing_indexed_is_a_clear_error(engine: Engine, library: Path) -> None:
    with pytest.raises(UnknownSourceError, match=r"Nothing is indexed at or under 'nowhere/'"):
        engine.ask("Piaggio?", sources=[library / "report.txt", "nowhere/"])
    # A prefix of a name is not a folder.
    with pytest.raises(UnknownSourceError, match="rag index"):
        engine.scope([str(library / "rep")])


def test_keyword_search_ranks_only_chunks_of_the_chosen_documents(
    engine: Engine, library: Path
) -> None:
    keywords = KeywordIndex(engine.store.all_chunks())
    everywhere = keywords.search("Piaggio engineers", 5)
    assert Path(everywhere[0].chunk.source).name == "march.txt"
    scoped = keywords.search("Piaggio engineers", 5, {str(library / "report.txt")})
    assert [Path(h.chunk.source).name for h in scoped] == ["report.txt"]


def test_the_store_query_filters_before_taking_the_top_k(tmp_path: Path) -> None:
    # Many near matches elsewhere must not crowd the chosen document out of the k results.
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(30):
        (docs / f"noise{i:02d}.txt").write_text(f"Piaggio Aerospace note {i}.")
    (docs / "target.txt").write_text("Unrelated words about tulips only.")
    settings = IndexSettings(store_dir=tmp_path / "s")
    embedder = HashEmbedder()
    index_paths([docs], settings, embedder=embedder)
    store, _ = open_store(settings, embedder)
    hits = store.search(embedder.embed_query("Piaggio Aerospace"), 3, [str(docs / "target.txt")])
    assert [Path(h.chunk.source).name for h in hits] == ["target.txt"]
    assert np.isfinite(hits[0].score)


def test_cli_doc_limits_the_search_and_an_unknown_one_is_one_line(
    seeds: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.openai_server import FakeOpenAIServer, citing

    other = tmp_path / "other"
    other.mkdir()
    (other / "piaggio.en.txt").write_text(
        "Piaggio Aerospace builds the P.180 Avanti aircraft in Villanova d'Albenga."
    )
    assert main(["index", str(seeds), str(other)]) == 0
    with FakeOpenAIServer(reply=citing("Piaggio")) as server:
        monkeypatch.setenv("RAG_LLM", "openai")
        monkeypatch.setenv("RAG_LLM_MODEL", "tiny")
        monkeypatch.setenv("RAG_LLM_BASE_URL", server.url)
        capsys.readouterr()
        code = main(["ask", "What does Piaggio Aerospace build?", "--doc", str(other), "--json"])
        assert code == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["citations"]
        assert all(c["source"].endswith("piaggio.en.txt") for c in payload["citations"])

        code = main(["ask", "What does Piaggio build?", "--doc", str(tmp_path / "nope.pdf")])
    err = capsys.readouterr().err
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("rag: error: Nothing is indexed"), err
    assert "nope.pdf" in lines[0] and "rag index" in lines[0]


def test_a_scope_is_searched_exactly_and_a_large_one_through_the_index(
    engine: Engine, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.store

    vector = engine.embedder.embed_query("Piaggio Aerospace engineers")
    scope = engine.scope([library / "minutes"]) or []
    exact = engine.store.search(vector, 5, scope)
    monkeypatch.setattr(index.store, "_EXACT_SEARCH_CHUNKS", 0)  # force the HNSW path
    through_index = engine.store.search(vector, 5, scope)
    assert [h.chunk.id for h in exact] == [h.chunk.id for h in through_index]
    assert [round(h.score, 4) for h in exact] == [round(h.score, 4) for h in through_index]
