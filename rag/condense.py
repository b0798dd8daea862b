"""Follow-up questions ("And when was that?") rewritten into standalone ones before retrieval."""

from __future__ import annotations

import re

from rag.llm.base import LLM, Message

Turn = tuple[str, str]  # (user question, assistant answer)

_PROMPT = (
    "Rewrite the last question so it can be understood without the conversation: replace "
    "pronouns and vague references with what they refer to. Keep its language. If it is "
    "already standalone, repeat it unchanged. Reply with the question only."
)
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def condense(question: str, history: list[Turn], llm: LLM, max_turns: int = 3) -> str:
    """The standalone form of `question` given the last `max_turns` of `history`."""
    if not history:
        return question
    lines = []
    for asked, answered in history[-max_turns:]:
        lines.append(f"User: {asked}")
        lines.append(f"Assistant: {_MARKER.sub('', answered)[:600]}")
    messages: list[Message] = [
        {"role": "system", "content": _PROMPT},
        {
            "role": "user",
            "content": "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}",
        },
    ]
    rewritten = "".join(llm.stream(messages, 80)).strip().strip('"').strip()
    rewritten = rewritten.removeprefix("Question:").strip().splitlines()[0] if rewritten else ""
    # A rewrite that lost the question (empty, or a long answer instead) is not used.
    if not rewritten or len(rewritten) > 3 * len(question) + 200:
        return question
    return rewritten
