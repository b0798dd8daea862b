"""Reading [n] markers out of an answer: keep the real ones, drop the invented ones."""

from __future__ import annotations

import re

from rag.prompt import CANNOT_ANSWER_PHRASE, MARKER

__all__ = ["MARKER", "attribute", "cited_numbers", "is_abstention", "is_bare_marker"]
_ABSTAIN = re.compile(
    r"^\W*(i\s+don'?t\s+know|i\s+do\s+not\s+know|the\s+(sources|documents)\s+do\s+not\s+"
    r"(contain|answer|say|mention))",
    re.IGNORECASE,
)


def is_abstention(answer: str) -> bool:
    text = answer.replace("’", "'").strip()
    if not re.search(r"\w", MARKER.sub("", text)):
        return True  # nothing but citation markers ("[1]"): no answer was given
    return bool(_ABSTAIN.match(text)) or text.strip(' ."') == CANNOT_ANSWER_PHRASE


# Words a sentence cannot end on: "The maximum weight is [1]." left its answer out. (Not
# prepositions: "…, as stated in [1]." uses the marker as a noun, after the answer.)
_DANGLING = frozenset(
    {"is", "are", "was", "were", "be", "been", "being", "the", "a", "an", "and", "or", "than"}
    | {"het", "een", "zijn", "waren"}
    | {"der", "die", "das", "ein", "eine", "ist", "sind", "war", "waren", "und", "oder"}
)


def is_bare_marker(answer: str) -> bool:
    """True for a reply that cites a source but does not say the answer.

    Only markers ("[2]"), or a sentence whose last word before a marker leaves it unfinished
    ("The highest weight is [1]."). A symbol standing on its own is a word here: "… 0-9, _,
    -, and . [2]" ends on the answer ".".
    """
    if not MARKER.search(answer):
        return False
    if not re.search(r"\w", MARKER.sub("", answer)):
        return True
    for match in MARKER.finditer(answer):
        before = re.findall(r"[\w']+|[:]|(?<!\S)[^\w\s:]+(?!\S)", answer[: match.start()])
        if before and (before[-1].lower() in _DANGLING or before[-1] == ":"):
            return True
    return False


def markers_last(answer: str) -> str:
    """A reply opening with markers ("[1] Baykar …") gets them at its first sentence's end."""
    match = re.match(r"\s*((?:\[\d+(?:\s*,\s*\d+)*\]\s*)+)", answer)
    if not match or not answer[match.end() :].strip():
        return answer
    markers = re.sub(r"\s+", "", match.group(1))
    rest = answer[match.end() :].lstrip(" :-–")
    end = re.search(r"[.!?](?=\s|$)", rest)
    if end is None:
        return f"{rest.rstrip()} {markers}"
    return f"{rest[: end.start()]} {markers}{rest[end.start() :]}"


def cited_numbers(answer: str) -> list[int]:
    """Source numbers in order of first appearance."""
    seen: dict[int, None] = {}
    for match in MARKER.finditer(answer):
        for part in match.group(1).split(","):
            seen.setdefault(int(part), None)
    return list(seen)


def renumber(answer: str, valid: set[int]) -> tuple[str, list[int]]:
    """Drop markers that point at no source; number the rest 1.. in order of appearance.

    Returns the new text and, for each new number, the original source number.
    """
    order = [n for n in cited_numbers(answer) if n in valid]
    new_number = {old: new for new, old in enumerate(order, start=1)}

    def replace(match: re.Match[str]) -> str:
        kept = [new_number[int(p)] for p in match.group(1).split(",") if int(p) in new_number]
        return "".join(f"[{n}]" for n in dict.fromkeys(kept))

    text = MARKER.sub(replace, answer)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text, order


_WORD = re.compile(r"\w+", re.UNICODE)


def attribute(answer: str, evidence_texts: list[str]) -> int | None:
    """For an answer with no markers: the source (1-based) sharing the most answer words.

    Small models often answer right but forget the marker; a source that contains the
    answer's distinctive words (names, numbers) is the one it was read from.
    """
    words = {w.lower() for w in _WORD.findall(answer) if len(w) >= 4 or w.isdigit()}
    if not words:
        return None
    best, best_overlap = None, 0
    for n, text in enumerate(evidence_texts, start=1):
        overlap = len(words & {w.lower() for w in _WORD.findall(text)})
        if overlap > best_overlap:
            best, best_overlap = n, overlap
    return best
