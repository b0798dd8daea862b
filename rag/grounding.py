"""A last check that an answer comes from the sources and not from the model's own memory.

The small default model sometimes answers off-topic questions from what it learned in
training ("The capital of Australia is Canberra [1]"). Names and numbers are the part of
an answer that survives translation, so an answer whose new names and numbers appear in
no source is not grounded in the documents.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def _distinctive(text: str) -> list[str]:
    """Capitalised words not opening a sentence, and anything with a digit."""
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+", _MARKER.sub(" ", text)):
        for i, match in enumerate(_TOKEN.finditer(sentence)):
            word = match.group(0)
            if any(ch.isdigit() for ch in word) or (i > 0 and word[0].isupper()):
                out.append(word.lower())
    return out


def _stem_match(word: str, vocabulary: set[str]) -> bool:
    # Prefix match tolerates inflection and spelling across languages (Baykars/Baykar,
    # Italy/Italië) without letting short prefixes collide (Australia vs Austria).
    need = max(4, int(len(word) * 0.8))
    if len(word) < need:
        return word in vocabulary
    stem = word[:need]
    return any(v.startswith(stem) or (len(v) >= 4 and word.startswith(v)) for v in vocabulary)


def is_grounded(answer: str, question: str, sources: list[str]) -> bool:
    """False when the answer names things found neither in the question nor in any source."""
    question_words = {w.lower() for w in _TOKEN.findall(question)}
    new = [w for w in _distinctive(answer) if not _stem_match(w, question_words)]
    if not new:
        return True
    vocabulary = {w.lower() for s in sources for w in _TOKEN.findall(s)}
    return any(_stem_match(w, vocabulary) for w in new)
