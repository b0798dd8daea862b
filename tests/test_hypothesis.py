"""The `expand` step (rag/hypothesis.py): a same-language question is searched with a passage the
model writes as if it answered it; a cross-lingual one, or any with the setting off, is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import index_paths
from rag import Engine, RagSettings
from rag.hypothesis import Hypothesize
from tests.fakes import HashEmbedder, ScriptedLLM

QUESTION = "What is the highest weight a glob rule can be given?"
# Worded like the answer, not like the question: what the model is scripted to imagine.
HYPOTHETICAL = "The maximum value is one hundred for every pattern priority."


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / "glob.md").write_text(
        "Every glob rule can be given a weight, and the highest weight of a glob rule wins "
        "when the rules of two packages match the same file name.\n",
        encoding="utf-8",
    )
    (folder / "priority.md").write_text(
        "The maximum value is one hundred, and the default value is fifty for every pattern "
        "priority in the database.\n",
        encoding="utf-8",
    )
    return folder


def _engine(settings: RagSettings, folder: Path, llm: ScriptedLLM, *, on: bool) -> Engine:
    embedder = HashEmbedder()
    index_paths([folder], settings.index, embedder=embedder)
    return Engine(
        settings.model_copy(update={"hypothetical_search": on}), embedder=embedder, llm=llm
    )


def test_a_same_language_question_is_searched_with_the_answer_the_model_imagines(
    rag_settings: RagSettings, manual: Path
) -> None:
    llm = ScriptedLLM([HYPOTHETICAL, "The maximum is one hundred [1]."])
    engine = _engine(rag_settings, manual, llm, on=True)

    answer = engine.ask(QUESTION)

    # First the model imagined an answer, in the question's language ...
    system, asked = llm.prompts[0]
    assert "in English" in system["content"] and asked["content"] == QUESTION
    # ... which brought the passage worded like it first, the one the reply cites ...
    assert answer.sources[0].source.endswith("priority.md")
    assert [c.source for c in answer.citations] == [answer.sources[0].source]
    # ... while the answer's prompt carried the question alone, not the imagined answer.
    prompt = llm.prompts[1][-1]["content"]
    assert f"Question: {QUESTION}" in prompt and HYPOTHETICAL not in prompt
    assert answer.standalone_question == QUESTION


def test_the_evidence_found_with_the_imagined_answer_is_scored_against_the_question(
    rag_settings: RagSettings, manual: Path
) -> None:
    llm = ScriptedLLM([HYPOTHETICAL])
    engine = _engine(rag_settings, manual, llm, on=True)
    embedder = engine.embedder

    prepared = engine.prepare(QUESTION)

    # The answerability floor is calibrated on similarity to the question as asked.
    (best,) = [ev for ev in prepared.evidence if ev.hit.chunk.source.endswith("priority.md")]
    sentence = embedder.embed_passages([best.sentences[0].text])[0]
    asked = float(sentence @ embedder.embed_query(QUESTION))
    expanded = float(sentence @ embedder.embed_query(f"{QUESTION} {HYPOTHETICAL}"))
    assert best.score == pytest.approx(asked) and abs(asked - expanded) > 0.01


def test_without_the_imagined_answer_the_question_finds_the_passage_worded_like_it(
    rag_settings: RagSettings, manual: Path
) -> None:
    llm = ScriptedLLM(["The highest weight wins [1]."])
    engine = _engine(rag_settings, manual, llm, on=False)

    answer = engine.ask(QUESTION)

    assert answer.sources[0].source.endswith("glob.md")
    assert len(llm.prompts) == 1  # the answer only


def test_a_cross_lingual_question_is_searched_as_asked(
    seeds: Path, rag_settings: RagSettings
) -> None:
    llm = ScriptedLLM(["Baykar acquired Piaggio Aerospace [1]."])
    engine = _engine(rag_settings, seeds, llm, on=True)

    answer = engine.ask("Which Italian aircraft maker did Baykar buy?")  # over a Dutch article

    assert len(llm.prompts) == 1 and llm.prompts[0][0]["content"].startswith("You answer")
    assert "Baykar" in answer.sources[0].text


def test_the_imagined_answer_is_asked_for_in_the_language_of_question_and_passage(
    seeds: Path, rag_settings: RagSettings
) -> None:
    llm = ScriptedLLM(
        ["Baykar heeft het Italiaanse Piaggio Aerospace overgenomen.", "Piaggio [1]."]
    )
    engine = _engine(rag_settings, seeds, llm, on=True)

    engine.ask("Welk Italiaans bedrijf heeft Baykar overgenomen?")

    assert "in Dutch" in llm.prompts[0][0]["content"]


def test_a_follow_up_is_searched_as_rewritten_without_an_imagined_answer(
    rag_settings: RagSettings, manual: Path
) -> None:
    rewrite = "What is the default value of a pattern priority?"
    llm = ScriptedLLM([rewrite, "The default value is fifty [1]."])
    engine = _engine(rag_settings, manual, llm, on=True)

    answer = engine.ask("And its default?", history=[(QUESTION, "One hundred [1].")])

    assert answer.standalone_question == rewrite and "fifty" in answer.text
    assert len(llm.prompts) == 2  # the rewrite and the answer; no hypothetical between
    assert not any("would answer the question" in p[0]["content"] for p in llm.prompts)


def test_a_preview_of_the_sources_never_asks_the_model(
    rag_settings: RagSettings, manual: Path
) -> None:
    llm = ScriptedLLM()
    engine = _engine(rag_settings, manual, llm, on=True)

    shown = engine.preview(QUESTION)

    assert shown.sources and not llm.prompts


def test_an_empty_imagined_answer_leaves_the_question_alone(
    rag_settings: RagSettings, manual: Path
) -> None:
    llm = ScriptedLLM(["  \n "])
    engine = _engine(rag_settings, manual, llm, on=False)
    hits = engine.retrieve(QUESTION)

    assert Hypothesize()(QUESTION, hits, llm) == QUESTION and len(llm.prompts) == 1
    with pytest.raises(ValueError, match=r"at least 1\. Currently, it is 0"):
        Hypothesize(max_tokens=0)
