"""End to end with the real packaged embedder and LLM on seeds/ (slow: loads a 1.1 GB model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index import IndexSettings, index_paths
from rag import RagSettings, get_engine
from rag.prompt import CANNOT_ANSWER_PHRASE, build_messages

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> RagSettings:
    store = tmp_path_factory.mktemp("e2e") / "store"
    index_settings = IndexSettings(store_dir=store)
    report = index_paths([ROOT / "seeds"], index_settings)
    assert report.ok and report.chunks_written > 0
    return RagSettings(index=index_settings)


def test_baykar_question_is_answered_with_the_dutch_passage(settings: RagSettings) -> None:
    answer = get_engine(settings).ask("What did Baykar acquire in Italy?")
    assert not answer.abstained
    assert "Piaggio Aerospace" in answer.text
    assert answer.citations and any("Piaggio" in c.text for c in answer.citations)
    assert all(f"[{c.n}]" in answer.text for c in answer.citations)


def test_off_topic_question_abstains(settings: RagSettings) -> None:
    answer = get_engine(settings).ask("What is the capital of Australia?")
    assert answer.abstained and not answer.citations


def test_cli_index_then_ask_json(tmp_path: Path) -> None:
    env = {**os.environ, "RAG_STORE_DIR": str(tmp_path / "store")}
    rag = [sys.executable, "-m", "ui.cli"]
    subprocess.run([*rag, "index", "seeds"], cwd=ROOT, env=env, check=True, timeout=600)
    out = subprocess.run(
        [*rag, "ask", "What did Baykar acquire in Italy?", "--json"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    ).stdout
    payload = json.loads(out)
    assert "Piaggio Aerospace" in payload["answer"]
    assert any(
        c["source"].endswith("baykar-leonardo-2025-05.nl.txt") and "Piaggio" in c["text"]
        for c in payload["citations"]
    )


def test_answerability_separates_an_answered_question_from_an_unanswered_one(
    settings: RagSettings,
) -> None:
    engine = get_engine(settings)
    verdict, refusal = {}, {}
    for question in ("What did Baykar acquire in Italy?", "What is the capital of Australia?"):
        evidence = engine.evidence(question)
        messages = build_messages(question, evidence, "English")
        refusal[question] = engine.llm.first_token_probability(messages, CANNOT_ANSWER_PHRASE)
        verdict[question] = engine.answerable(question, messages, evidence)
    assert (
        0
        < refusal["What did Baykar acquire in Italy?"]
        < refusal["What is the capital of Australia?"]
        < 1
    )
    assert verdict == {
        "What did Baykar acquire in Italy?": True,
        "What is the capital of Australia?": False,
    }


def test_a_follow_up_is_rewritten_into_a_question_and_answered(settings: RagSettings) -> None:
    engine = get_engine(settings)
    follow_up = engine.ask("And to how many countries has it sold them?", [
        ("Which drones does Baykar make?", "Baykar makes the Bayraktar TB2 and the Akinci [1]."),
    ])  # fmt: skip
    # What is searched is a question with "it" resolved, not an answer. (After "Baykar
    # acquired Piaggio Aerospace", the 1.5B model resolves "it" to Piaggio: a known miss.)
    assert follow_up.standalone_question.rstrip().endswith("?")
    assert "Baykar" in follow_up.standalone_question
    assert not follow_up.abstained and "30" in follow_up.text
    assert any("30 landen" in c.text for c in follow_up.citations)


@pytest.mark.xfail(
    reason="known miss of the 1.5B model: shown the sentence naming Erdogan and Meloni as the "
    "summit's chairs, it answers 'the Turkish government' (since the bare-marker reply is asked "
    "to write the answer out in the asker's language); strict, so that a fix shows as XPASS "
    "and this mark is removed",
    strict=True,
)
def test_a_follow_up_about_the_summit_names_its_chair(settings: RagSettings) -> None:
    engine = get_engine(settings)
    first = engine.ask("What did Baykar acquire in Italy?")
    assert "Piaggio" in first.text
    answer = engine.ask("Who chaired the summit where it signed the deal with Leonardo?", [
        (first.question, first.text)
    ])  # fmt: skip
    assert not answer.abstained and "Erdogan" in answer.text
