"""Which language a question is in, so the small model can be told plainly what to answer in."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

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
