"""The answer pipeline's steps, the settings root, the stored sentence spans, the keyword
index's refresh and the documents facade: the structure issue 11 asked for, by behaviour."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest
from pydantic import ValidationError

from index import Hit, IndexSettings, index_paths, open_store
from index.chunk import split_sentences
from index.keyword import SyncedKeywordIndex
from rag import Engine, RagSettings
from rag.llm import BACKENDS, describe_llm
from rag.settings import unknown_environment
from rag.steps import Steps
from tests.fakes import HashEmbedder, ScriptedLLM
from ui.cli import main
from ui.settings import UISettings


# --- steps ---
def test_a_swapped_retrieve_step_is_what_the_answer_is_built_from(
    engine: Engine, llm: ScriptedLLM
) -> None:
    asked: list[tuple[str, int]] = []
    default = engine.steps.retrieve

    def only_the_last_hit(
        question: str, k: int, sources: Collection[str] | None = None
    ) -> list[Hit]:
        asked.append((question, k))
        return default(question, k, sources)[-1:]

    swapped = engine.with_steps(retrieve=only_the_last_hit)
    llm.enqueue("Something [1].", "Something else [1].")
    answer = swapped.ask("Piaggio Aerospace Baykar")
    assert asked == [("Piaggio Aerospace Baykar", engine.settings.top_k)]
    last = default("Piaggio Aerospace Baykar", engine.settings.top_k)[-1]
    assert [s.start for s in answer.sources] == [last.chunk.start]
    # The original engine keeps its own steps (and shares the store and models).
    original = engine.ask("Piaggio Aerospace Baykar")
    assert len(asked) == 1 and original.sources[0].start != last.chunk.start
    assert swapped.store is engine.store and swapped.embedder is engine.embedder


def test_a_swapped_screen_step_sees_the_retrieved_hits(engine: Engine, llm: ScriptedLLM) -> None:
    seen: list[int] = []

    def drop_all(hits: list[Hit]) -> list[Hit]:
        seen.append(len(hits))
        return []

    answer = engine.with_steps(screen=drop_all).ask("Piaggio Aerospace Baykar")
    assert seen and seen[0] > 0
    assert answer.abstained and not answer.sources and not llm.prompts  # nothing to answer from


def test_the_decide_step_can_stop_the_model_from_answering(
    engine: Engine, llm: ScriptedLLM
) -> None:
    weighed: list[str] = []

    def never(question, messages, evidence, model, signals) -> bool:  # type: ignore[no-untyped-def]
        weighed.append(question)
        signals["custom"] = 1.0
        return False

    answer = engine.with_steps(decide=never).ask("Piaggio Aerospace Baykar")
    assert weighed == ["Piaggio Aerospace Baykar"]
    assert answer.abstained and answer.signals == {"custom": 1.0} and not llm.prompts


def test_unknown_steps_are_refused_with_the_names_of_the_steps(engine: Engine) -> None:
    with pytest.raises(TypeError, match=r"retreive.*condense, retrieve, expand, screen, select"):
        engine.with_steps(retreive=lambda *a: [])
    assert list(Steps.__dataclass_fields__) == [
        "condense",
        "retrieve",
        "expand",
        "screen",
        "select",
        "decide",
        "generate",
        "finish",
    ]


def test_llms_without_token_probabilities_are_not_probed(engine: Engine, llm: ScriptedLLM) -> None:
    # ScriptedLLM declares token_probabilities = False and raises if probed anyway.
    llm.enqueue("Baykar acquired Piaggio Aerospace [1].")
    answer = engine.ask("Piaggio Aerospace Baykar")
    assert not answer.abstained and "refusal" not in answer.signals


# --- index-time sentence spans and the keyword index ---
def test_chunks_come_back_from_the_store_with_their_sentence_spans(
    seeds: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    index_paths([seeds], index_settings, embedder=embedder)
    store, _ = open_store(index_settings, embedder)
    chunks = store.all_chunks()
    assert chunks and all(c.spans for c in chunks)
    for c in chunks:
        assert c.sentences() == split_sentences(c.text)


def test_a_chunk_stored_without_spans_is_still_split(
    seeds: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    from dataclasses import replace

    index_paths([seeds], index_settings, embedder=embedder)
    store, _ = open_store(index_settings, embedder)
    old = replace(store.all_chunks()[0], spans=())
    assert old.sentences() == split_sentences(old.text) and old.sentences()


def test_the_keyword_index_is_rebuilt_only_when_the_store_changes(
    tmp_path: Path, index_settings: IndexSettings, embedder: HashEmbedder
) -> None:
    docs = tmp_path / "kw"
    docs.mkdir()
    (docs / "a.txt").write_text("The zorbulator runs on Tuesdays.", encoding="utf-8")
    index_paths([docs], index_settings, embedder=embedder)
    store, _ = open_store(index_settings, embedder)
    keywords = SyncedKeywordIndex(store)
    first = keywords.current()
    assert keywords.current() is first  # no change: the same index, not rebuilt
    assert not first.search("quibblefrost", 5)
    (docs / "b.txt").write_text("A quibblefrost is a kind of winter.", encoding="utf-8")
    index_paths([docs], index_settings, embedder=embedder)
    second = keywords.current()
    assert second is not first and second.search("quibblefrost", 5)
    (docs / "b.txt").unlink()
    index_paths([docs], index_settings, embedder=embedder)
    assert not keywords.current().search("quibblefrost", 5)


# --- the documents facade ---
def test_documents_are_added_listed_and_removed_through_the_engine(
    tmp_path: Path, rag_settings: RagSettings, embedder: HashEmbedder, llm: ScriptedLLM
) -> None:
    docs = tmp_path / "facade"
    docs.mkdir()
    (docs / "a.txt").write_text("Alpha is the first letter.", encoding="utf-8")
    engine = Engine(rag_settings, embedder=embedder, llm=llm)
    assert engine.status().documents == 0
    report = engine.add([docs])
    assert report.ok and report.added == [str(docs / "a.txt")]
    status = engine.status()
    assert (status.documents, status.embed_model) == (1, embedder.name) and status.chunks >= 1
    assert list(engine.documents()) == [str(docs / "a.txt")]
    assert engine.remove([docs]) == [str(docs / "a.txt")]
    assert engine.status().documents == 0 and engine.status().chunks == 0


# --- settings ---
def test_a_setting_of_another_layer_is_refused_with_where_it_belongs(tmp_path: Path) -> None:
    with pytest.raises(
        ValidationError, match=r"RagSettings has no setting 'store_dir'.*IndexSettings"
    ):
        RagSettings(store_dir=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match=r"RagSettings\(index=IndexSettings\(store_dir="):
        RagSettings(store_dir=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="Did you mean top_k"):
        RagSettings(top_kk=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="IndexSettings has no setting 'ui_password'"):
        IndexSettings(ui_password="x")  # type: ignore[call-arg]


def test_every_registered_backend_is_accepted_and_described() -> None:
    for name, backend in BACKENDS.items():
        settings = RagSettings(llm=name, llm_model="m" if not backend.default_model else None)
        assert settings.llm == name and describe_llm(settings)
    with pytest.raises(ValidationError, match="one of llamacpp, ollama, openai"):
        RagSettings(llm="gpt4all")


def test_misspelled_environment_variables_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert UISettings  # every layer is loaded, so every RAG_* name is known
    monkeypatch.setenv("RAG_STOR_DIR", "/tmp/x")
    monkeypatch.setenv("RAG_UI_PASSWORD", "pw")
    problems = unknown_environment()
    assert problems == ["RAG_STOR_DIR is not a setting (did you mean RAG_STORE_DIR?)"]
    main(["conversations"])
    assert "RAG_STOR_DIR is not a setting (did you mean RAG_STORE_DIR?)" in capsys.readouterr().err
