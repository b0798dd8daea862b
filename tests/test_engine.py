from __future__ import annotations

from pathlib import Path

import pytest

from index import EmptyStoreError, index_paths
from rag import Answer, Engine, QuestionError, RagSettings, Token
from rag.prompt import NO_ANSWER_TEXT
from tests.fakes import HashEmbedder, ScriptedLLM


def test_answer_cites_the_passage_the_model_named(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("Baykar acquired Piaggio Aerospace [1].")
    answer = engine.ask("Baykar overname Italiaanse luchtvaartbedrijf Piaggio")

    assert answer.text == "Baykar acquired Piaggio Aerospace [1]."
    assert not answer.abstained
    (citation,) = answer.citations
    assert citation.n == 1 and "Piaggio" in citation.text and "Piaggio" in citation.quote
    assert citation.source.endswith("baykar-leonardo-2025-05.nl.txt")
    # The prompt numbered the sources and carried the question.
    prompt = llm.prompts[0][1]["content"]
    assert "[1]" in prompt and "Question: Baykar overname" in prompt


def test_citations_to_sources_that_were_not_given_are_dropped(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue("Piaggio Aerospace [1][42].")
    answer = engine.ask("Piaggio Aerospace overname")
    assert [c.n for c in answer.citations] == [1]
    assert "[42]" not in answer.text


def test_model_saying_it_does_not_know_is_an_abstention(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("I don't know.")
    answer = engine.ask("How much does a pancake cost in that town?")
    assert answer.abstained and answer.text == NO_ANSWER_TEXT and not answer.citations


def test_stream_yields_tokens_then_the_answer(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("Piaggio Aerospace was bought [1].")
    events = list(engine.stream("Piaggio Aerospace"))
    tokens = [e.text for e in events if isinstance(e, Token)]
    assert len(tokens) > 1 and "".join(tokens) == "Piaggio Aerospace was bought [1]."
    assert isinstance(events[-1], Answer)


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_questions_are_refused(engine: Engine, question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        engine.ask(question)


def test_overlong_questions_are_refused(engine: Engine) -> None:
    with pytest.raises(QuestionError, match="limit is 2000"):
        engine.ask("why " * 1000)


def test_empty_store_names_the_index_command(
    rag_settings: RagSettings, embedder: HashEmbedder, llm: ScriptedLLM
) -> None:
    with pytest.raises(EmptyStoreError, match="rag index"):
        Engine(rag_settings, embedder=embedder, llm=llm).ask("anything?")


def test_prompt_is_trimmed_to_the_context_window(engine: Engine, llm: ScriptedLLM) -> None:
    llm.context_window = 400  # words, for the fake: room for the rules and little evidence
    llm.enqueue("Piaggio [1].")
    engine.ask("Piaggio Aerospace overname Baykar Leonardo")
    used = sum(llm.count_tokens(m["content"]) for m in llm.prompts[0])
    assert used <= 400 - engine.settings.max_answer_tokens
    assert "[1]" in llm.prompts[0][-1]["content"]  # some evidence still fits


def test_a_window_too_small_for_any_evidence_abstains_without_asking(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.context_window = 300  # the rules and the answer's room leave no space for a source
    answer = engine.ask("Piaggio Aerospace overname Baykar Leonardo")
    assert answer.abstained and not answer.sources and not llm.prompts


def test_follow_up_is_rewritten_before_retrieval(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("When did Baykar take over Piaggio Aerospace?", "Some months ago [1].")
    history = [("What did Baykar acquire in Italy?", "Piaggio Aerospace [1].")]
    answer = engine.ask("And when was that?", history)

    condense_prompt = llm.prompts[0][-1]["content"]
    assert "What did Baykar acquire in Italy?" in condense_prompt
    assert "Follow-up question: And when was that?" in condense_prompt
    assert answer.question == "And when was that?"
    assert answer.standalone_question == "When did Baykar take over Piaggio Aerospace?"
    assert "Question: When did Baykar take over Piaggio Aerospace?" in llm.prompts[1][-1]["content"]


def test_the_answer_reads_a_follow_up_after_the_last_turn_of_the_conversation(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue("Kann man die Übernahme von Piaggio Aerospace rückgängig machen?", "Nein [1].")
    history = [
        ("Wer hat Leonardo gegründet?", "Das steht nicht in den Quellen."),
        ("Was kaufte Baykar in Italien?", "Piaggio Aerospace [1]."),
    ]
    engine.ask("Kann man das rückgängig machen?", history)
    prompt = llm.prompts[1]
    # The last turn, as the chat it was (its source numbers gone: they numbered other
    # sources), then the sources and the rewritten question.
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[1]["content"] == "Was kaufte Baykar in Italien?"
    assert "Piaggio Aerospace" in prompt[2]["content"] and "[1]" not in prompt[2]["content"]
    assert "Sources:" in prompt[3]["content"] and "Leonardo gegründet" not in str(prompt)
    assert "Question: Kann man die Übernahme" in prompt[3]["content"]

    llm.enqueue("Baykar bought Piaggio Aerospace [1].")
    engine.ask("Piaggio Aerospace overname Baykar")  # no history: no earlier turns
    assert [m["role"] for m in llm.prompts[-1]] == ["system", "user"]


def test_a_first_question_is_prepared_without_the_model_and_answered_the_same(
    engine: Engine, llm: ScriptedLLM
) -> None:
    prepared = engine.prepare("Baykar overname Italiaanse luchtvaartbedrijf Piaggio")
    assert llm.prompts == []  # searching, evidence and prompt: no model call
    assert prepared.retrieved.sources and "Piaggio" in prepared.retrieved.sources[0].text
    llm.enqueue("Baykar acquired Piaggio Aerospace [1].", "Baykar acquired Piaggio Aerospace [1].")
    events = list(engine.answer_events(prepared))
    whole = engine.ask("Baykar overname Italiaanse luchtvaartbedrijf Piaggio")
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.text == whole.text
    assert answer.citations == whole.citations and llm.prompts[0] == llm.prompts[1]


def test_a_follow_up_preview_searches_with_the_previous_question_without_the_model(
    engine: Engine, llm: ScriptedLLM
) -> None:
    history = [("What did Baykar acquire in Italy?", "Piaggio Aerospace [1].")]
    shown = engine.preview("And when was that?", history)
    assert llm.prompts == []
    assert shown.question == "And when was that?"
    assert shown.searched == "What did Baykar acquire in Italy? And when was that?"
    # The searched text finds the earlier turn's topic (the hash embedder ranks it among the
    # top passages, not always among the few the evidence is taken from).
    assert any("Piaggio" in h.chunk.text for h in engine.retrieve(shown.searched))
    assert shown.sources
    with pytest.raises(QuestionError):
        engine.preview("   ", history)


def test_no_history_means_no_rewrite_call(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("Piaggio [1].")
    answer = engine.ask("Piaggio Aerospace")
    assert len(llm.prompts) == 1 and answer.standalone_question == "Piaggio Aerospace"


def test_a_bare_marker_reply_is_asked_to_write_the_answer(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("[1]", "Baykar bought Piaggio Aerospace [1].")
    answer = engine.ask("Piaggio Aerospace overname Baykar")
    assert answer.text == "Baykar bought Piaggio Aerospace [1]."
    assert len(llm.prompts) == 2 and llm.prompts[1][-2] == {"role": "assistant", "content": "[1]"}


def test_a_reply_that_says_the_question_back_is_asked_to_write_the_answer(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue("It is the Piaggio Aerospace overname, Baykar [1].", "Baykar bought Piaggio [1].")
    answer = engine.ask("Piaggio Aerospace overname Baykar")
    assert answer.text == "Baykar bought Piaggio [1]."
    assert len(llm.prompts) == 2


def test_a_reply_still_without_its_answer_after_the_re_ask_is_withdrawn(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue("It is the Piaggio Aerospace overname, Baykar [1].", "The Baykar overname is [1].")
    answer = engine.ask("Piaggio Aerospace overname Baykar")
    assert answer.abstained and not answer.citations and "[" not in answer.text


def test_warm_embeds_sentences_so_the_first_question_does_not(
    engine: Engine, llm: ScriptedLLM, embedder: HashEmbedder
) -> None:
    engine.warm()
    before = embedder.passages_embedded
    llm.enqueue("Piaggio Aerospace [1].")
    engine.ask("Piaggio Aerospace overname Baykar")
    assert embedder.passages_embedded == before


@pytest.mark.parametrize(
    "bad_rewrite",
    [
        "Baykar acquired Piaggio Aerospace in 2024.",  # an answer, not a question
        "When did Baykar buy Piaggio Aerospace for 300 million?",  # a number from nowhere
        "What is the weather like in Rome today and tomorrow and the day after that, and "
        "what should I wear, and which museums are open on Sundays in the summer months?",
    ],
)
def test_a_rewrite_that_is_not_the_users_question_is_not_searched(
    engine: Engine, llm: ScriptedLLM, bad_rewrite: str
) -> None:
    llm.enqueue(bad_rewrite, "In 2025 [1].")
    history = [("What did Baykar acquire in Italy?", "Piaggio Aerospace [1].")]
    answer = engine.ask("And when was that?", history)
    # Searched with the previous question and the follow-up; the model answers the follow-up.
    assert answer.standalone_question == "What did Baykar acquire in Italy? And when was that?"
    assert "Question: And when was that?" in llm.prompts[1][-1]["content"]


def test_a_follow_up_in_dutch_keeps_its_rewrite(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("Wanneer kocht Baykar Piaggio Aerospace?", "In 2025 [1].")
    history = [("Wat kocht Baykar in Italië?", "Piaggio Aerospace [1].")]
    answer = engine.ask("Wanneer was dat?", history)
    assert answer.standalone_question == "Wanneer kocht Baykar Piaggio Aerospace?"


def test_a_number_the_cited_source_does_not_hold_is_re_cited_or_withdrawn(
    tmp_path: Path, rag_settings: RagSettings, embedder: HashEmbedder, llm: ScriptedLLM
) -> None:
    docs = tmp_path / "two"
    docs.mkdir()
    (docs / "plant.txt").write_text("Piaggio Aerospace employs 850 people.")
    (docs / "sale.txt").write_text("Piaggio Aerospace fetched 300 million.")
    index_paths([docs], rag_settings.index, embedder=embedder)
    engine = Engine(rag_settings, embedder=embedder, llm=llm)
    question = "Piaggio Aerospace"
    by_file = {Path(s.source).name: s.n for s in engine.ask(question).sources}
    assert set(by_file) == {"plant.txt", "sale.txt"}
    # The price is in the sale, but the model cites the plant: the citation moves.
    llm.enqueue(f"It fetched 300 million [{by_file['plant.txt']}].")
    answer = engine.ask(question)
    assert not answer.abstained and answer.citations[0].source.endswith("sale.txt")
    # A number no source holds (from memory, or elsewhere in the corpus): withdrawn.
    llm.enqueue(f"It fetched 420 million [{by_file['sale.txt']}].")
    answer = engine.ask(question)
    assert answer.abstained and not answer.citations and "420" not in answer.text


def test_a_reply_that_leaves_the_answer_out_is_asked_again(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue("The company Baykar bought is [1].", "Baykar bought Piaggio Aerospace [1].")
    answer = engine.ask("Piaggio Aerospace overname Baykar")
    assert answer.text == "Baykar bought Piaggio Aerospace [1]." and len(llm.prompts) == 2


def test_a_reply_never_starts_with_a_marker(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("[1] Baykar bought Piaggio Aerospace. It is Italian.")
    answer = engine.ask("Piaggio Aerospace overname Baykar")
    assert answer.text == "Baykar bought Piaggio Aerospace [1]. It is Italian."


def test_an_abstention_is_in_the_language_of_the_question(engine: Engine, llm: ScriptedLLM) -> None:
    llm.enqueue("I don't know.")
    answer = engine.ask("Hoeveel kost een pannenkoek in het restaurant van Baykar?")
    assert answer.abstained and answer.text == "De documenten geven geen antwoord op deze vraag."


def test_a_reply_in_another_language_than_the_question_is_asked_again(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue(
        "Baykar acquired the Italian aviation company Piaggio Aerospace [1].",
        "Baykar heeft het Italiaanse luchtvaartbedrijf Piaggio Aerospace overgenomen [1].",
    )
    answer = engine.ask("Welk Italiaans luchtvaartbedrijf nam Baykar over?")
    assert answer.text.startswith("Baykar heeft") and len(llm.prompts) == 2
    assert "Dutch" in llm.prompts[1][-1]["content"]
    # An answer already in the question's language is not asked again.
    llm.enqueue("Baykar heeft Piaggio Aerospace overgenomen [1].")
    engine.ask("Welk Italiaans luchtvaartbedrijf nam Baykar over?")
    assert len(llm.prompts) == 3


def test_a_word_left_in_the_sources_language_is_named_when_the_translation_is_asked(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue(
        "Baykar acquired the luchtvaartbedrijf Piaggio Aerospace [1].",
        "Baykar acquired the aviation company Piaggio Aerospace [1].",
    )
    answer = engine.ask("What did Baykar acquire in Italy?")
    assert '"luchtvaartbedrijf" is not English' in llm.prompts[1][-1]["content"]
    # The draft: what the model wrote last, before citations and grounding were checked.
    assert "aviation company" in answer.draft and "luchtvaartbedrijf" not in answer.draft


def test_a_word_copied_untranslated_from_a_source_is_asked_to_be_translated(
    tmp_path: Path, rag_settings: RagSettings, embedder: HashEmbedder, llm: ScriptedLLM
) -> None:
    (tmp_path / "polonia.txt").write_text(
        "Polonia degradeerde in 2013 uit de hoogste klasse vanwege een rampzalige financiële "
        "situatie.\n",
        encoding="utf-8",
    )
    index_paths([tmp_path / "polonia.txt"], rag_settings.index, embedder=embedder)
    engine = Engine(rag_settings, embedder=embedder, llm=llm)
    # "rampzalige" is not surely Dutch to lingua on its own, so the reply reads as English;
    # but it is copied from the Dutch source and is no English word.
    llm.enqueue(
        "Polonia was relegated in 2013 due to its rampzalige financial situation [1].",
        "Polonia was relegated in 2013 due to its disastrous financial situation [1].",
    )
    answer = engine.ask("Why was Polonia relegated in 2013?")
    assert '"rampzalige" is not English' in llm.prompts[1][-1]["content"]
    assert "disastrous" in answer.text and len(llm.prompts) == 2
    # A word the source holds that is English too is not asked about ("situatie" is not
    # "situation"; "Polonia" is a name).
    llm.enqueue("Polonia was relegated in 2013 due to its financial situation [1].")
    engine.ask("Why was Polonia relegated in 2013?")
    assert len(llm.prompts) == 3


def test_a_bare_marker_then_a_reply_in_the_wrong_language_is_asked_for_a_translation(
    engine: Engine, llm: ScriptedLLM
) -> None:
    llm.enqueue(
        "[1]",
        "Baykar acquired the Italian aviation company Piaggio Aerospace [1].",
        "Baykar heeft het Italiaanse luchtvaartbedrijf Piaggio Aerospace overgenomen [1].",
    )
    answer = engine.ask("Welk Italiaans luchtvaartbedrijf nam Baykar over?")
    assert answer.text.startswith("Baykar heeft") and len(llm.prompts) == 3
    assert "in Dutch" in llm.prompts[1][-1]["content"]  # write it out, in the asker's language
    assert "Dutch" in llm.prompts[2][-1]["content"]  # then translate it
    # Each kind of request is made once: a second bare marker is not asked about again.
    llm.enqueue("[1]", "[1]")
    engine.ask("Welk Italiaans luchtvaartbedrijf nam Baykar over?")
    assert len(llm.prompts) == 5


def test_a_why_question_asks_for_the_source_reason_in_its_own_language(
    engine: Engine, llm: ScriptedLLM, seeds: Path, tmp_path: Path
) -> None:
    english = tmp_path / "notes.txt"
    english.write_text(
        "Squid runs as user proxy. The proxy user owns the cache, so a compromised cache "
        "cannot rewrite the system files. Web content should not be owned by www-data."
    )
    engine.add([english])
    llm.enqueue(*["It keeps the cache apart [1]."] * 3)
    engine.ask("Why does squid run as the proxy user?", sources=[english])
    engine.ask("Which user does squid run as?", sources=[english])
    # Over the Dutch article, the source's own words would be Dutch words in an English reply.
    engine.ask("Why did Baykar buy Piaggio Aerospace?", sources=[seeds])
    why, what, across = (prompt[-1]["content"] for prompt in llm.prompts)
    assert "Give the reason as the source states it" in why
    assert why.index("Answer in") < why.index("Give the reason")
    assert "reason" not in what
    assert "Piaggio" in across and "reason" not in across
    # ...and is named before the sources as well as after them; the others only after.
    assert why.startswith("Question: Why does squid run as the proxy user?\n\nSources:\n[1]")
    assert why.count("Question: Why does squid") == 2
    assert what.startswith("Sources:\n") and across.startswith("Sources:\n")
