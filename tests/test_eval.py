"""The eval command on tiny benchmark folders, with the fake embedder and LLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import IndexSettings
from rag import RagSettings
from rag.eval import metrics
from rag.eval.datasets import EvalDataError, load_dataset
from rag.eval.report import format_report
from rag.eval.run import EvalOptions, evaluate
from tests.fakes import HashEmbedder, ScriptedLLM

PASSAGES = [
    {"id": "p1", "lang": "nl", "title": "A", "text": "Baykar kocht Piaggio Aerospace in Italië."},
    {
        "id": "p2",
        "lang": "nl",
        "title": "B",
        "text": "De Panthers verdediging stond 308 punten toe.",
    },
    {"id": "p3", "lang": "nl", "title": "C", "text": "Amsterdam is de hoofdstad van Nederland."},
]
QUESTIONS = [
    {"id": "q1", "question": "Baykar kocht Piaggio", "answers": ["Piaggio Aerospace"],
     "passage_id": "p1"},
    {"id": "q2", "question": "Panthers 308 punten", "answers": ["308"], "passage_id": "p2"},
]  # fmt: skip


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def qa_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tiny-qa"
    root.mkdir()
    _write(root / "passages.jsonl", PASSAGES)
    _write(root / "dev.jsonl", QUESTIONS)
    return root


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tiny-beir"
    (root / "qrels").mkdir(parents=True)
    _write(
        root / "corpus.jsonl", [{"_id": p["id"], "title": "", "text": p["text"]} for p in PASSAGES]
    )
    _write(root / "queries.jsonl", [{"_id": "1", "text": "Amsterdam hoofdstad"}])
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\tp3\t1\n")
    return root


@pytest.fixture
def settings(tmp_path: Path) -> RagSettings:
    # Scripted replies in order: no hypothetical answer to search with (conftest.py).
    store = IndexSettings(store_dir=tmp_path / "user-store", cache_dir=tmp_path)
    return RagSettings(index=store, hypothetical_search=False)


def test_answers_are_scored_and_cited_passages_checked(
    qa_dir: Path, settings: RagSettings, tmp_path: Path
) -> None:
    llm = ScriptedLLM(["Baykar bought Piaggio Aerospace [1].", "I don't know"])
    report = evaluate(
        qa_dir, EvalOptions(split="dev", show_progress=False), settings,
        embedder=HashEmbedder(), llm=llm,
    ).to_dict()  # fmt: skip

    assert report["n"] == 2
    assert report["retrieval"]["recall@1"] == 1.0 and report["retrieval"]["ndcg@10"] == 1.0
    answer = report["answer"]
    assert (answer["accuracy"], answer["abstain_rate"], answer["citation_precision"]) == (
        0.5,
        0.5,
        1.0,
    )
    # No question is marked unanswerable, so wrong abstentions are not counted.
    assert answer["unanswerable_abstained"] is None and answer["wrong_abstentions"] is None
    assert report["latency_s"]["p50"] is not None
    # The benchmark got a store of its own; the user's store was never created.
    assert (tmp_path / "eval").is_dir() and not (tmp_path / "user-store").exists()


def test_a_second_run_reuses_the_index(qa_dir: Path, settings: RagSettings) -> None:
    embedder = HashEmbedder()
    options = EvalOptions(split="dev", answer=False, show_progress=False)
    first = evaluate(qa_dir, options, settings, embedder=embedder)
    second = evaluate(qa_dir, options, settings, embedder=embedder)
    assert first.embedded == 3 and second.embedded == 0


def test_drop_gold_hides_the_relevant_passage(qa_dir: Path, settings: RagSettings) -> None:
    options = EvalOptions(split="dev", drop_gold=True, show_progress=False)
    report = evaluate(qa_dir, options, settings, embedder=HashEmbedder(), llm=ScriptedLLM())
    assert all(q.question.passage_ids().isdisjoint(q.ranked) for q in report.results)
    assert report.to_dict()["answer"]["abstain_rate"] == 1.0


def test_beir_folders_are_retrieval_only(beir_dir: Path, settings: RagSettings) -> None:
    report = evaluate(
        beir_dir, EvalOptions(show_progress=False), settings, embedder=HashEmbedder()
    ).to_dict()
    assert report["retrieval"]["recall@1"] == 1.0
    assert report["answer"]["accuracy"] is None and report["answer"]["abstain_rate"] is None


def test_a_folder_of_neither_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="not a benchmark folder"):
        load_dataset(tmp_path)


def test_missing_split_names_the_ones_there(qa_dir: Path) -> None:
    with pytest.raises(EvalDataError, match=r"no test split\. Available: dev"):
        load_dataset(qa_dir, "test")


def test_ndcg_uses_graded_relevance() -> None:
    assert metrics.ndcg_at(["a", "b"], {"a": 1}) == 1.0
    assert metrics.ndcg_at(["b", "a"], {"a": 1}) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert metrics.recall_at(["a", "x"], {"a": 1, "b": 1}, 5) == 0.5


def test_an_answer_is_found_across_a_line_break() -> None:
    # PDF text breaks lines mid-sentence: the cited passage "2 to\nindicate" holds "2 to indicate".
    passage = "Return values: 0 for a normal exit, 2 to\nindicate a corrupt compressed file."
    assert metrics.contains_answer(passage, ["2 to indicate"])
    assert not metrics.contains_answer(passage, ["3 to indicate", " "])
    assert metrics.is_right("It returns  2 to indicate it [1].", ["2 TO indicate"], ["it"])
    assert not metrics.is_right("It returns 2 [1].", ["2"], ["indicate"])


def test_cli_eval_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    assert main(["eval", str(tmp_path), "--limit", "0"]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err
    assert main(["eval", str(tmp_path), "--baseline", "--drop-gold"]) == 2
    assert "without --baseline" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a benchmark folder" in capsys.readouterr().err


def test_llama_index_baseline_runs_on_our_embedder_and_llm(qa_dir: Path) -> None:
    from rag.eval.baseline import evaluate_baseline

    llm = ScriptedLLM(["Piaggio Aerospace.", "308"])
    options = EvalOptions(split="dev", show_progress=False)
    report = evaluate_baseline(qa_dir, options, embedder=HashEmbedder(), llm=llm).to_dict()
    assert report["mode"] == "baseline-answer"
    assert report["retrieval"]["recall@1"] == 1.0
    assert report["answer"]["accuracy"] == 1.0
    # The library's prompt reached our LLM with the retrieved passage in it.
    assert "Piaggio" in llm.prompts[0][0]["content"]


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tiny-docs"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "gnu.txt").write_text(
        "The written offer must remain valid for at least three years.\n\n"
        "Conveying verbatim copies is allowed for free.\n",
        encoding="utf-8",
    )
    (root / "docs" / "zlib.md").write_text(
        "# zlib\n\nThe zlib format uses a window of 32K bytes.\n", encoding="utf-8"
    )
    _write(
        root / "dev.jsonl",
        [
            {"id": "f1", "question": "How large is the zlib window?", "lang": "en",
             "kind": "number", "answers": ["32K"], "documents": ["docs/zlib.md"]},
            {"id": "u1", "question": "Which compression level is the zlib default?",
             "lang": "en", "kind": "unanswerable", "answers": [], "documents": []},
            {"id": "h1", "question": "How long must it stay valid?", "lang": "en",
             "kind": "followup", "answers": ["three years"], "documents": ["docs/gnu.txt"],
             "history": [["What must accompany object code?", "A written offer [1]."]]},
        ],
    )  # fmt: skip
    return root


def test_a_folder_of_documents_is_indexed_and_scored_per_kind(
    docs_dir: Path, settings: RagSettings
) -> None:
    llm = ScriptedLLM(
        [
            "The window is 32K bytes [1].",  # f1
            "I don't know",  # u1: abstains, which is right
            "How long must the written offer stay valid?",  # h1: the rewrite
            "At least three years [1].",  # h1: the answer
        ]
    )
    report = evaluate(
        docs_dir, EvalOptions(split="dev", show_progress=False), settings,
        embedder=HashEmbedder(), llm=llm,
    )  # fmt: skip
    summary = report.to_dict()
    assert summary["n"] == 3
    assert summary["answer"]["accuracy"] == 1.0
    assert summary["answer"]["unanswerable_abstained"] == 1.0
    assert summary["answer"]["wrong_abstentions"] == 0.0
    assert set(summary["kinds"]) == {"number", "unanswerable", "followup"}
    assert summary["kinds"]["followup"]["accuracy"] == 1.0
    # The follow-up was searched as its rewrite, and its rewrite found the right document.
    followup = report.results[2]
    assert followup.searched == "How long must the written offer stay valid?"
    assert followup.ranked[0] == "docs/gnu.txt"
    assert followup.cited == ["docs/gnu.txt"]
    # Unanswerable questions have no gold document, so retrieval is measured on the others.
    assert summary["retrieval"]["recall@5"] == 1.0
    assert "followup" in format_report(summary)


def test_one_kind_of_question_can_be_scored_alone(docs_dir: Path, settings: RagSettings) -> None:
    llm = ScriptedLLM(["How long must the written offer stay valid?", "Three years [1]."])
    options = EvalOptions(split="dev", kind="followup", show_progress=False)
    report = evaluate(docs_dir, options, settings, embedder=HashEmbedder(), llm=llm)
    assert [r.question.id for r in report.results] == ["h1"]
    assert report.to_dict()["answer"]["accuracy"] == 1.0 and len(llm.prompts) == 2


def test_drop_gold_hides_a_whole_document(docs_dir: Path, settings: RagSettings) -> None:
    options = EvalOptions(split="dev", drop_gold=True, show_progress=False)
    llm = ScriptedLLM(["32K [1].", "I don't know", "How long must the offer stay valid?"])
    report = evaluate(docs_dir, options, settings, embedder=HashEmbedder(), llm=llm)
    assert report.results[0].ranked == ["docs/gnu.txt"]


def test_a_bad_record_in_a_document_set_is_named(docs_dir: Path) -> None:
    _write(docs_dir / "test.jsonl", [{"id": "x", "question": "?", "documents": ["docs/nope.txt"]}])
    with pytest.raises(EvalDataError, match=r"test\.jsonl:1: document docs/nope\.txt"):
        load_dataset(docs_dir, "test")
