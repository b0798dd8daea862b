"""Follow-up questions ("And when was that?") rewritten into standalone ones before retrieval.

A small model asked to rewrite a question sometimes answers it instead ("The offer must
remain valid for at least 30 days.") or drifts to another subject, and a wrong search is
worse than an unresolved one. So a rewrite is used only when it is still a question, is no
longer than a question needs to be, brings no number the conversation never mentioned, and
shares a word with what was asked. Otherwise the previous question and the follow-up are
searched together, which finds the subject the conversation is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.llm.base import LLM, Message
from rag.prompt import said

Turn = tuple[str, str]  # (user question, assistant answer)

_PROMPT = (
    "You rewrite the user's follow-up question so that it can be understood without the "
    "conversation: replace pronouns and vague references (it, that, there, this offer) with "
    "what they refer to. Keep the question's language and meaning. Do not answer it. Reply "
    "with the rewritten question only."
)
# Worked examples as earlier turns: the 1.5B model copies a shown format far more reliably
# than it follows a description of one. Invented subjects, unrelated to any benchmark.
_EXAMPLES: list[tuple[str, str, str, str]] = [
    (
        "Which program converts the recipes to HTML?",
        "The converter is called cookml [1].",
        "Who wrote it?",
        "Who wrote cookml?",
    ),
    (
        "Hoeveel kost een jaarkaart voor de bibliotheek?",
        "Een jaarkaart kost 25 euro [2].",
        "En voor kinderen?",
        "Hoeveel kost een jaarkaart voor de bibliotheek voor kinderen?",
    ),
]
_WORD = re.compile(r"\w{3,}", re.UNICODE)
_NUMBER = re.compile(r"\d+")
_LABEL = re.compile(r"^(?:rewritten question|question|vraag|frage)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Condensed:
    """What a follow-up becomes: the text to search and the question the model answers."""

    search: str
    question: str
    rewritten: bool  # False: the rewrite was refused, or no rewrite was needed


def _conversation(history: list[Turn], max_turns: int) -> str:
    lines = []
    for asked, answered in history[-max_turns:]:
        lines.append(f"User: {asked}")
        lines.append(f"Assistant: {said(answered)}")
    return "\n".join(lines)


def _turn(conversation: str, question: str) -> str:
    return f"Conversation:\n{conversation}\n\nFollow-up question: {question}"


def rewrite_messages(question: str, history: list[Turn], max_turns: int = 2) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": _PROMPT}]
    for asked, answered, follow_up, rewritten in _EXAMPLES:
        messages.append(
            {"role": "user", "content": _turn(f"User: {asked}\nAssistant: {answered}", follow_up)}
        )
        messages.append({"role": "assistant", "content": rewritten})
    messages.append({"role": "user", "content": _turn(_conversation(history, max_turns), question)})
    return messages


def acceptable(rewrite: str, question: str, history: list[Turn]) -> bool:
    """Whether a rewrite is still the user's question (see the module docstring)."""
    if not rewrite or "\n" in rewrite:
        return False
    if question.rstrip().endswith("?") and not rewrite.rstrip().endswith("?"):
        return False  # a statement: most likely an answer
    if len(rewrite) > len(question) + 100:  # resolving a reference adds a name, not a story
        return False
    said = " ".join([question, *(t for turn in history for t in turn)])
    if set(_NUMBER.findall(rewrite)) - set(_NUMBER.findall(said)):
        return False  # a number from nowhere: the model answering
    asked = {w.lower() for w in _WORD.findall(question)}
    return not asked or bool(asked & {w.lower() for w in _WORD.findall(rewrite)})


def condense(question: str, history: list[Turn], llm: LLM, max_turns: int = 2) -> Condensed:
    """The standalone form of `question` given the last `max_turns` of `history`."""
    if not history:
        return Condensed(question, question, False)
    reply = "".join(llm.stream(rewrite_messages(question, history, max_turns), 60)).strip()
    lines = reply.splitlines()
    rewrite = lines[0].strip().strip('"“”').strip() if lines else ""
    rewrite = _LABEL.sub("", rewrite)
    if acceptable(rewrite, question, history):
        return Condensed(rewrite, rewrite, True)
    previous = history[-1][0]
    return Condensed(f"{previous} {question}", question, False)
