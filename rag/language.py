"""Which language a question is in, so the small model can be told plainly what to answer in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from rag.citations import MARKER

FALLBACK = "the same language as the question"


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = [
        Language.ENGLISH,
        Language.DUTCH,
        Language.GERMAN,
        Language.FRENCH,
        Language.SPANISH,
        Language.ITALIAN,
        Language.PORTUGUESE,
        Language.TURKISH,
        Language.POLISH,
        Language.SWEDISH,
        Language.DANISH,
        Language.CHINESE,
        Language.JAPANESE,
        Language.RUSSIAN,
        Language.ARABIC,
    ]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_minimum_relative_distance(0.05)
        .build()
    )


def question_language(question: str) -> str:
    """English name of the question's language, or a neutral instruction when unsure."""
    language = _detector().detect_language_of(question)
    return language.name.title() if language is not None else FALLBACK


def confident_language(question: str) -> str | None:
    """The question's language (ISO 639-1) when there is prose enough to be sure of it."""
    first = _PLAIN_WORD.findall(_CODE.sub(" ", question))[:1]  # "Which", "Hoeveel", "Wie"
    words = first + _prose_words(question)
    if len(words) < 3:
        return None
    values = _detector().compute_language_confidence_values(" ".join(words))
    return _code(values[0].language) if values and values[0].value >= 0.5 else None


def language_name(code: str) -> str:
    """English name of an ISO 639-1 language code ("nl" -> "Dutch")."""
    from lingua import IsoCode639_1, Language

    return str(Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.title())


def language_code(text: str) -> str | None:
    """ISO 639-1 code of the text's language ("en", "nl", ...), or None when unsure."""
    language = _detector().detect_language_of(text)
    return language.iso_code_639_1.name.lower() if language is not None else None


def passage_language(text: str) -> str | None:
    """The language a passage is written in, read from its prose: names, numbers and code
    left out when enough words remain (a Dutch sentence listing English team names, or a
    manual page full of options, is then not taken for English)."""
    words = _prose_words(text)
    return language_code(" ".join(words) if len(words) >= 5 else text)


def reply_language(reply: str) -> str | None:
    """The language of a reply, its citation markers left out."""
    return language_code(MARKER.sub(" ", reply))


_CODE = re.compile(r"`[^`]*`|\S*[\d_/=<>@\\]\S*|\S+\.\S+|--?\w[\w-]*")
_PLAIN_WORD = re.compile(r"(?<![\w-])[^\W\d_][^\W\d_'’-]*(?![\w-])", re.UNICODE)


def _prose_words(text: str) -> list[str]:
    """The words of a reply that carry its language: no names, numbers, code or markers."""
    text = _CODE.sub(" ", MARKER.sub(" ", text))
    return [w for w in _PLAIN_WORD.findall(text) if not w[0].isupper()]


def foreign_words(reply: str, expected: str) -> list[str]:
    """Words lingua is sure belong to another language than `expected` ("luchtvaartbedrijf").

    Only long words count, and only where lingua gives the expected language almost no
    chance: technical loanwords ("default", "Kilobyte") stay allowed.
    """
    detector = _detector()
    out = []
    for word in _prose_words(reply):
        if len(word) < 6:
            continue
        values = detector.compute_language_confidence_values(word)
        top = values[0]
        mine = next((v.value for v in values if _code(v.language) == expected), 0.0)
        if _code(top.language) != expected and top.value >= 0.9 and mine < 0.05:
            out.append(word)
    return out


def copied_words(
    reply: str, expected: str, sources: Sequence[str], question: str = ""
) -> list[str]:
    """Words the reply copied from a source in another language than `expected` that lingua
    gives `expected` almost no chance ("rampzalige financial situation", "a new Apollo
    ruimtepak"): left untranslated, though lingua is not sure enough of the single word to
    call it foreign (`foreign_words`). Words of the question are the asker's own."""
    foreign = [text for text in sources if passage_language(text) not in (None, expected)]
    if not foreign:
        return []
    copied = {w.lower() for text in foreign for w in _PLAIN_WORD.findall(text)}
    asked = {w.lower() for w in _PLAIN_WORD.findall(question)}
    detector = _detector()
    out = []
    for word in _prose_words(reply):
        low = word.lower()
        if len(word) < 6 or low not in copied or low in asked:
            continue
        values = detector.compute_language_confidence_values(word)
        if next((v.value for v in values if _code(v.language) == expected), 0.0) < 0.05:
            out.append(word)
    return out


def _code(language: Any) -> str:
    return str(language.iso_code_639_1.name.lower())


def is_in_language(reply: str, expected: str) -> bool:
    """Whether a reply is written in the `expected` language (ISO 639-1), whole.

    Names, numbers and code are left out first (lingua takes "Baykar acquired Piaggio
    Aerospace." for Italian); what remains must read as the expected language when there is
    enough of it to tell, and hold no word that is surely of another language.
    """
    if foreign_words(reply, expected):
        return False
    words = _prose_words(reply)
    if len(words) < 3:
        return True  # too little prose to tell
    detected = language_code(" ".join(words))
    return detected is None or detected == expected
