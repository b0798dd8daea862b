"""Searching with a hypothetical answer (HyDE): the `expand` step.

A question and the passage that answers it are worded differently ("What is the highest
weight a glob rule can be given?" / "The maximum is 100"), so the answer is often ranked below
passages that repeat the question's words. Searched with the question followed by a short
passage the model writes as if it answered it, the search looks for answer-like text: on
realdocs dev the evidence held an answer for 95 questions of 106 instead of 92, and answers
went 0.770 -> 0.795 with citation precision 0.869 -> 0.897 (docs/EVAL.md, session 20). The
evidence it finds is scored against the question alone (rag/engine.py `_evidence`), as the
answerability floor was calibrated: scored against the expansion, the seed article's Dutch
question about Piaggio fell under the floor. Opt-in (RAG_HYPOTHETICAL_SEARCH): it adds about
2 s before the first token, and on dev it answers more unanswerable questions and abstains on
more answerable ones than the search without it (0.104 wrong abstentions, over the 0.10
budget).

Only when the question is in the language of the best passage found for the question alone:
the small model writes its passage in the question's language, which pulls a cross-lingual
search towards passages in the wrong language (realdocs dev cross-lingual answers fell from
0.708 to 0.542 when every question was expanded). The prompt still carries the question
alone; the passage is only ever searched with, never shown or cited. A follow-up is searched
as its rewrite, without a hypothetical (rag/engine.py `prepare`).
"""

from __future__ import annotations

from index import Hit
from rag.language import language_code, language_name, passage_language
from rag.llm import LLM, Message

# The same for every question in one language, so llama.cpp's prefix cache keeps it.
HYPOTHESIS = (
    "You write one short passage, in {language}, from a technical document or manual that "
    "would answer the question. Write the passage only, two sentences at most."
)


def hypothesis_messages(question: str, language: str = "English") -> list[Message]:
    """The prompt for the hypothetical passage (`language`: its English name)."""
    return [
        {"role": "system", "content": HYPOTHESIS.format(language=language)},
        {"role": "user", "content": question},
    ]


class Hypothesize:
    """The `expand` step: the question, followed by a passage the model writes as if it
    answered it when the question is in the language of its best passage; else the question."""

    def __init__(self, max_tokens: int = 60) -> None:
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1. Currently, it is {max_tokens}")
        self.max_tokens = max_tokens

    def __call__(self, question: str, hits: list[Hit], llm: LLM) -> str:
        asked = language_code(question)
        if not hits or asked is None or passage_language(hits[0].chunk.text) != asked:
            return question
        messages = hypothesis_messages(question, language_name(asked))
        passage = " ".join("".join(llm.stream(messages, self.max_tokens)).split())
        return f"{question} {passage}" if passage else question


def keep_question(question: str, hits: list[Hit], llm: LLM) -> str:
    """The `expand` step that searches with the question alone (RAG_HYPOTHETICAL_SEARCH=0)."""
    return question
