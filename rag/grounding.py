"""A last check that each sentence of an answer comes from the source it cites.

The small default model sometimes answers from what it learned in training ("The capital of
Australia is Canberra [1]"), or takes a number from one source and cites another. Names and
numbers are the part of an answer that survives translation, so each answer sentence's new
names and numbers (those not already in the question) must be found in the passages that
sentence cites: every number, and at least half of the names (names are translated now and
then: "Italy" / "Italië"). A sentence that fails with its own citation but holds with another
source given to the model is re-cited to that source; a sentence no source supports, or one
that only says the question back, is dropped, and an answer left with nothing is no answer.
Of a sentence no source supports, the longest opening that one does (cut before a "but", a
"while" or a semicolon) stands alone: the model often adds a made-up clause to a right answer.
A "yes" that only says the question back stands only when what it cites says so: a sentence
holding the question's words, without a negation the question does not have.
Paths, long options and underscored identifiers count as facts too, and every one must be
in the source: they are copied or made up, never translated.
When the question names a thing by an identifier ("ffi_closure", "bzip2 1.0.8") and some
passage names it too, a fact must come from such a passage: a number from a passage about
something else is a misreading, not the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.chunk import split_sentences
from index.keyword import analyze
from rag.citations import MARKER
from rag.language import language_code, passage_language

_TOKEN = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A sentence ends at . ! ? and the markers right after it ("… Aerospace. [1] It …").
_SENTENCE_END = re.compile(r"(?<=[.!?])((?:\s*\[\d+(?:\s*,\s*\d+)*\])*)\s+(?=\S)")


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the source numbers it cites."""

    text: str
    cites: tuple[int, ...]


def split_claims(answer: str) -> list[Claim]:
    """The answer's sentences with their markers; an unmarked sentence borrows the next one's."""
    pieces, pos = [], 0
    for match in _SENTENCE_END.finditer(answer):
        pieces.append(answer[pos : match.end(1)].strip())
        pos = match.end()
    pieces.append(answer[pos:].strip())
    pieces = _with_trailing_markers([p for p in pieces if p])
    cites = [
        tuple(dict.fromkeys(int(n) for m in MARKER.finditer(p) for n in m.group(1).split(",")))
        for p in pieces
    ]
    for i in range(len(pieces) - 2, -1, -1):  # "X is Y. It is Z [1]": [1] covers both
        if not cites[i]:
            cites[i] = cites[i + 1]
    for i in range(1, len(pieces)):
        if not cites[i]:
            cites[i] = cites[i - 1]
    return [Claim(p, c) for p, c in zip(pieces, cites, strict=True)]


def _with_trailing_markers(pieces: list[str]) -> list[str]:
    """Markers written after a sentence's full stop ("… in Italy. [1]") belong to it: they
    go inside it ("… in Italy [1]."), so a re-cited sentence does not leave them dangling."""
    out: list[str] = []
    for piece in pieces:
        if out and not MARKER.sub("", piece).strip(" ,;"):
            prev = out[-1]
            stop = prev.rstrip(".!?…")
            markers = "".join(m.group(0) for m in MARKER.finditer(piece))
            out[-1] = f"{stop.rstrip()} {markers}{prev[len(stop) :]}"
        else:
            out.append(piece)
    return out


# Numbers a source may spell out that an answer in another language writes as digits
# ("zehn Sekunden" -> "10 seconds"): English, Dutch, German, French, Spanish.
_NUMBER_WORDS = {
    word: str(value)
    for value, words in enumerate(
        [
            "zero nul null zéro cero",
            "one eins",  # not een, ein, un: they are articles too
            "two twee zwei deux dos",
            "three drie drei trois tres",
            "four vier quatre cuatro",
            "five vijf fünf cinq cinco",
            "six zes sechs seis",
            "seven zeven sieben sept siete",
            "eight acht huit ocho",
            "nine negen neun neuf nueve",
            "ten tien zehn dix diez",
            "eleven elf onze once",
            "twelve twaalf zwölf douze doce",
        ]
    )
    for word in words.split()
} | {
    "twenty": "20", "twintig": "20", "zwanzig": "20", "vingt": "20", "veinte": "20",
    "thirty": "30", "dertig": "30", "dreißig": "30", "trente": "30", "treinta": "30",
    "fifty": "50", "vijftig": "50", "fünfzig": "50", "cinquante": "50", "cincuenta": "50",
    "hundred": "100", "honderd": "100", "hundert": "100", "cent": "100", "cien": "100",
    "thousand": "1000", "duizend": "1000", "tausend": "1000", "mille": "1000", "mil": "1000",
}  # fmt: skip


def _spelled(text: str) -> set[str]:
    """The small numbers a text spells out, as digits ("zehn" is "10")."""
    return {_NUMBER_WORDS[w] for w in re.findall(r"\w+", text.lower()) if w in _NUMBER_WORDS}


def _numbers(text: str) -> set[str]:
    """Numbers with their separators removed ("1,117" and "1.117" are one number), and the
    small numbers a text spells out ("zehn" is 10)."""
    found = {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}
    return found | set(re.findall(r"\d+", text)) | _spelled(text)


# A number as an answer states it: not the digit ending a name ("LZMA2", "SSE2", "bzip2"),
# but a version written "v3" or "GPLv3" is one.
_STATED = re.compile(r"(?:(?<![^\W\d_])|(?<=v))\d+(?:[.,]\d+)*", re.IGNORECASE)


def _stated_numbers(text: str) -> set[str]:
    return set(_STATED.findall(text)) | _spelled(text)


def _names(text: str) -> list[str]:
    """Capitalised words that do not open a sentence, lower-cased."""
    out = []
    for sentence in re.split(r"(?<=[.!?:])\s+", MARKER.sub(" ", text)):
        for i, match in enumerate(_TOKEN.finditer(sentence)):
            word = match.group(0)
            if i > 0 and word[0].isupper() and not any(ch.isdigit() for ch in word):
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


# What an answer names in code: a path ("/var/log/wtmp", "~/.config"), a long option
# ("--disable-setuid", "--memlimit-compress=150MiB") or an identifier with an underscore
# ("FFI_OK"). It is never translated, so it is copied from a source or made up: the small
# model answered "/var/log/auth.log" for the file FHS names wtmp, from passages holding neither.
_CODE = re.compile(
    r"(?<![\w/.~-])(?:--[^\W_][\w-]*(?:=[^\s`'\"()\[\]]+)?|[~.]?/[\w.+-]+(?:/[\w.+-]*)*"
    r"|[^\W\d_]\w*_\w+)"
)


def _code(text: str) -> set[str]:
    """The paths, long options and underscored identifiers a text writes, as written."""
    return {m.group(0).rstrip(".,;:!?/") for m in _CODE.finditer(text)}


def _unspaced(text: str) -> str:
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class _Facts:
    """What a claim asserts beyond the question: its numbers, names and code."""

    numbers: set[str]
    names: list[str]
    code: set[str]

    def held_by(self, text: str) -> bool:
        if not self.numbers <= _numbers(text):
            return False
        if self.code:
            flat = _unspaced(text)  # a PDF or man page wraps a long path or option
            if not all(c in flat for c in self.code):
                return False
        if not self.names:
            return True
        vocabulary = {w.lower() for w in _TOKEN.findall(text)}
        found = sum(_stem_match(w, vocabulary) for w in self.names)
        return 2 * found >= len(self.names)


def _facts(claim: str, question: str) -> _Facts:
    body = MARKER.sub(" ", claim)
    asked_words = {w.lower() for w in _TOKEN.findall(question)}
    names = [w for w in _names(body) if not _stem_match(w, asked_words)]
    asked = _unspaced(question)
    code = {c for c in _code(body) if c not in asked}
    return _Facts(_numbers(body) - _numbers(question), names, code)


# Questions whose answer is a quantity, a version or a date ("How much did it cost?", "Since
# which version…?", "Hoeveel…?", "Wie groß…?"): a reply to one without any number ("a
# significant amount", "Rich works with Jupyter") has not answered it. "What about GCC
# versions older than that?" asks about versions, not for one.
_ASKS_NUMBER = re.compile(
    r"\b(?:how (?:much|many|long|large|big|old|fast|often|far)|(?:which|what)\s+(?!about\b)"
    r"(?:\w+\s+){0,2}"
    r"(?:version|year|date|port|size|percentage|number|uid|gid)s?\b|hoeveel|hoe (?:lang|groot|"
    r"oud|snel|vaak|ver)|(?:welke|welk)\s+(?:\w+\s+){0,2}(?:versie|jaar|datum|poort)|wie "
    r"(?:viele?|lange?|groß|alt|schnell|oft|weit)|(?:welche|welches|welcher|welchem)\s+"
    r"(?:\w+\s+){0,2}(?:version|jahr|datum|port))\b",
    re.IGNORECASE,
)


def asks_for_number(question: str) -> bool:
    return bool(_ASKS_NUMBER.search(question))


# Words an answer may add to the question's own without saying anything: articles, forms of
# "to be" and the pronouns a reply swaps for the asker's ("Which group must I be in?" /
# "You must be in the group"). Not yes/no/not: those are an answer.
_FILLER = frozenset(
    {"the", "a", "an", "is", "are", "was", "were", "be", "it", "its", "this", "that", "there"}
    | {"i", "you", "me", "my", "your", "we", "our"}
    | {"de", "het", "een", "er", "zijn", "waren", "ik", "je", "jij", "u", "mij", "mijn", "jouw"}
    | {"uw", "wij", "ons", "onze"}
    | {"der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "es"}
    | {"ist", "sind", "war", "ich", "du", "sie", "mich", "mir", "mein", "meine", "dein"}
    | {"deine", "ihr", "ihre", "wir", "uns", "unser"}
)
# A question offering a choice ("LZMA or LZMA2?") is answered with its own words.
_CHOICE = re.compile(r"\b(?:or|oder|ou)\b", re.IGNORECASE)


def restates_question(answer: str, question: str) -> bool:
    """True for a reply that only repeats the question ("Which C standard must the compiler
    support?" / "The compiler must support to build man-db [1]."): each of its words is one
    of the question's, used no more often, or a filler, so it says nothing the asker did not
    already write. "What rainforest covers the Amazon basin?" / "The Amazon rainforest covers
    the Amazon basin." uses "Amazon" twice: that is an answer."""
    if _CHOICE.search(question):
        return False
    words = _written_words(MARKER.sub(" ", answer))
    if len(words) < 3:
        return False
    unused = _written_words(question)
    for word in words:
        if word in _FILLER:
            continue
        match = next((i for i, asked in enumerate(unused) if _inflected(word, asked)), None)
        if match is None:
            return False
        del unused[match]
    return True


# Words as written, with the dots and dashes that make ".sources", "-n" or "tomli-w" a name of
# their own rather than the question's "source" or "Tomli".
_WRITTEN = re.compile(r"[.-]*[^\W_][\w'’.+/-]*")


def _written_words(text: str) -> list[str]:
    return [w.rstrip(".-'’").lower() for w in _WRITTEN.findall(text)]


def _inflected(word: str, asked: str) -> bool:
    """The same word, or one with a short ending of letters added or dropped (suggest /
    suggests); not a compound built on it (Amazon / Amazoneregenwoud, Tomli / tomli-w)."""
    if word == asked:
        return True
    short, long = sorted((word, asked), key=len)
    ending = long[len(short) :]
    return len(short) >= 4 and long.startswith(short) and len(ending) <= 2 and ending.isalpha()


def ground(
    answer: str,
    question: str,
    sources: dict[int, str],
    shown: dict[int, str] | None = None,
) -> str | None:
    """The answer with every sentence supported by what it cites, or None when none is.

    `sources` maps each source number given to the model to its passage text; `shown`, to the
    sentences of it the model read (the passage itself when not given). Citations of numbers
    that are not sources are left for `citations.renumber` to drop.
    """
    shown = shown or sources
    about = _about(question, sources)
    kept, asserted, supported = [], 0, 0
    for claim in split_claims(answer):
        if restates_question(claim.text, question):
            continue  # says nothing the asker did not write
        said = [shown[n] for n in claim.cites if n in shown] or list(shown.values())
        if unfounded_yes(claim.text, question, said):
            continue  # a yes the sources it cites do not say, or say the opposite of
        facts = _facts(claim.text, question)
        if facts.numbers or facts.names or facts.code:
            asserted += 1
            placed = _place(claim, facts, sources, about)
            if placed is None:
                # No source says this: the model's own knowledge, or a misreading. An opening
                # that a source holds stands alone ("HHsed reads at most 50 lines, but the
                # pattern space holds at most 500 bytes": no source says 500).
                opening = _held_opening(claim, question, sources, about)
                if opening is None:
                    continue
                claim, placed = opening
            cited, holders = placed
            supported += 1
        else:
            cited, holders = [n for n in claim.cites if n in sources], list(sources)
        if cited:
            best = _supporting(claim.text, question, cited, holders, shown)
            kept.append(claim.text if best == list(claim.cites) else _cite(claim.text, best))
        else:
            kept.append(claim.text)
    if asserted and not supported:
        return None  # what is left (if anything) asserts nothing the sources hold
    if asks_for_number(question) and not any(_stated_numbers(MARKER.sub(" ", k)) for k in kept):
        return None  # asked for a number, version or date; none was given
    if not any(re.search(r"\w", MARKER.sub("", k)) for k in kept):
        return None
    return " ".join(kept)


def _place(
    claim: Claim, facts: _Facts, sources: dict[int, str], about: set[int]
) -> tuple[list[int], list[int]] | None:
    """The sources a claim with facts should cite and every source holding its facts: those
    it cites when they hold them, else the first that does; None when no source does."""
    cited = [n for n in claim.cites if n in sources and n in about]
    holders = [n for n, text in sources.items() if n in about and facts.held_by(text)]
    if cited and facts.held_by(" ".join(sources[n] for n in cited)):
        return cited, holders
    return (holders[:1], holders) if holders else None


# Where a sentence's opening can stand alone: a semicolon, or a comma before a "but" or a
# "while". Not before an "and", which as often ends a list ("/dev/null, /dev/zero, and
# /dev/tty"): cut there, the list would read as complete.
_CLAUSE_BREAK = re.compile(
    r"\s*(?:;|,\s*(?:but|while|whereas|although|though|maar|terwijl|hoewel|aber|während|"
    r"obwohl|mais|pero)\b)",
    re.IGNORECASE,
)


def _held_opening(
    claim: Claim, question: str, sources: dict[int, str], about: set[int]
) -> tuple[Claim, tuple[list[int], list[int]]] | None:
    """The longest opening of a claim, cut before a clause break, whose facts a source holds
    (with its markers), and where it is placed; None when there is none."""
    body = " ".join(MARKER.sub(" ", claim.text).split())
    markers = "".join(m.group(0) for m in MARKER.finditer(claim.text))
    for cut in reversed([m.start() for m in _CLAUSE_BREAK.finditer(body)]):
        opening = body[:cut].rstrip(" ,")
        facts = _facts(opening, question)
        if facts.numbers or facts.names or facts.code:
            part = Claim(f"{opening} {markers}." if markers else f"{opening}.", claim.cites)
            placed = _place(part, facts, sources, about)
            if placed is not None:
                return part, placed
    return None


_YES = re.compile(r"\s*(?:yes|ja|oui|sí)\b[\s,.!:;]*", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|nicht|kein\w*|nie|niemals|niet|geen|nooit|jamais|nunca)\b"
    r"|n[’']t\b",
    re.IGNORECASE,
)


def unfounded_yes(claim: str, question: str, cited: Sequence[str]) -> bool:
    """True for a "yes" that says only the question back ("Can several threads work on the
    same stream?" / "Yes, several threads can work on the same stream [1].") when no sentence
    of the cited text holds at least half of the question's words, or when one that does is
    negated and the question is not ("Der Vorgabewert kann nicht explizit gesetzt werden").

    Such a yes asserts nothing a source can be checked for but the yes, and the small model
    says yes to most yes/no questions: on the real-document dev and test sets all four
    were wrong, two against a cited sentence saying "must not" / "kann nicht". A cited text
    in another language than the question cannot be compared word for word: only a sentence
    that holds the words is looked at there.
    """
    body = MARKER.sub(" ", claim)
    yes = _YES.match(body)
    if yes is None:
        return False
    rest = body[yes.end() :]
    if rest.strip(" .!") and not restates_question(rest, question):
        return False  # the yes comes with something of its own ("Yes, up to 1 GiB")
    words = list(dict.fromkeys(analyze(question)))
    if not words:
        return False
    negated_question = bool(_NEGATION.search(question))
    best = 0.0
    for sentence in (s.text for text in cited for s in split_sentences(text)):
        vocabulary = set(analyze(sentence))
        share = sum(_stem_match(w, vocabulary) for w in words) / len(words)
        if share >= 0.5 and not negated_question and _NEGATION.search(sentence):
            return True
        best = max(best, share)
    if best >= 0.5:
        return False
    asked = language_code(question)
    return asked is not None and asked == passage_language(" ".join(cited))


# A word of a question that names one thing: letters with digits or an underscore
# ("ffi_closure", "x86-64", "bzip2") or a version with two dots ("1.0.8").
_VERSION = re.compile(r"\d+\.\d+\.\d+")


def _terms(text: str) -> set[str]:
    """Every word of `text` as written (`_written_words`), and its parts between dashes."""
    out = set()
    for word in _written_words(text):
        out.add(word)
        out.update(word.split("-"))
    return out


def _identifiers(question: str) -> set[str]:
    return {
        t
        for t in _terms(question)
        if (re.search(r"[^\W\d_]", t) and re.search(r"[\d_]", t)) or _VERSION.fullmatch(t)
    }


def _about(question: str, sources: dict[int, str]) -> set[int]:
    """The sources a fact of the answer may come from: when the question names a thing by an
    identifier ("Wie groß ist ein ffi_closure-Objekt?") and some source names it too, only
    those; a number in a passage about something else ("…the limit is 16 exabytes", zlib)
    is not the answer. Every source when none names it."""
    names = _identifiers(question)
    naming = {n for n, text in sources.items() if names & _terms(text)}
    return naming or set(sources)


def _supporting(
    claim: str, question: str, cited: list[int], candidates: list[int], shown: dict[int, str]
) -> list[int]:
    """The sources a claim should cite: of the sources that hold its facts (`candidates`),
    the one whose shown sentences hold more of the claim's own words than any it cites
    ("Squid runs as user proxy [3]" read from source 1, the only one saying "proxy"); else
    the cited ones, less those holding none of those words while another cited one does.

    The small model often writes the right fact with the number of a neighbouring source,
    and a name or number is no guide when it is lower-case ("pmount") or common ("2").
    """
    words = _own_words(claim, question)
    if not words:
        return cited
    support = {n: _overlap(words, shown.get(n, "")) for n in {*cited, *candidates}}
    top = max(support[n] for n in cited)
    best = max(candidates, key=lambda n: support[n], default=None)
    if best is not None and support[best] > top:
        return [best]
    return [n for n in cited if support[n] > 0] if top > 0 else cited


def _own_words(claim: str, question: str) -> list[str]:
    """The claim's words that are neither the question's nor stop words."""
    asked = set(analyze(question))
    return list(
        dict.fromkeys(w for w in analyze(MARKER.sub(" ", claim)) if not _stem_match(w, asked))
    )


def _overlap(words: list[str], text: str) -> int:
    vocabulary = set(analyze(text))
    return sum(_stem_match(w, vocabulary) for w in words)


def _cite(claim: str, numbers: list[int]) -> str:
    """The claim with its markers replaced by `numbers`, before its full stop."""
    body = re.sub(r"\s+([.!?])", r"\1", MARKER.sub("", claim)).rstrip()
    stop = body.rstrip(".!?")
    markers = "".join(f"[{n}]" for n in numbers)
    return f"{stop.rstrip()} {markers}{body[len(stop) :]}"


def is_grounded(answer: str, question: str, sources: Sequence[str]) -> bool:
    """True when some sentence of the answer is supported by one of `sources`."""
    return ground(answer, question, dict(enumerate(sources, start=1))) is not None
