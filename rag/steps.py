"""The steps of an answer, each one swappable: condense, retrieve, expand, screen, select,
decide, generate, finish.

    asked ──condense──▶ searched ──retrieve──▶ hits ──expand──▶ searched + hypothetical answer
          ──retrieve──▶ hits ──screen──▶ hits ──select──▶ evidence
          ──decide──▶ (abstain | answer) ──generate──▶ draft ──finish──▶ Answer

(`expand` that returns the searched text unchanged skips the second retrieval.)

`Steps` holds one callable per step; `Engine` (rag/engine.py) runs them in that order and
`Engine.with_steps(retrieve=…)` swaps one, which is how eval hides gold passages, the
adversarial runner turns screening off and tests script a step. Each step's inputs and
output are the Protocol below; the defaults are built from settings by `default_steps`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from index import Embedder, Hit, Store
from rag import abstain
from rag import citations as cite
from rag.condense import Condensed, Turn, condense
from rag.evidence import Evidence, SentenceScorer, select_evidence
from rag.grounding import ground, restates_question
from rag.guard import screen_hits
from rag.hypothesis import Hypothesize, keep_question
from rag.language import (
    confident_language,
    copied_words,
    foreign_words,
    is_in_language,
    language_name,
)
from rag.llm import LLM, Message
from rag.prompt import CANNOT_ANSWER_PHRASE, NOT_IN_LANGUAGE, TRANSLATE, WRITE_OUT
from rag.retrieve import HybridRetriever, RetrievalWeights
from rag.settings import RagSettings
from rag.types import Answer, Citation, Source


class Condense(Protocol):
    def __call__(self, question: str, history: list[Turn], llm: LLM) -> Condensed:
        """The question to search and to answer, given the earlier turns."""
        ...


class Retrieve(Protocol):
    def __call__(self, question: str, k: int, sources: Collection[str] | None = None) -> list[Hit]:
        """The k best chunks, best first; only chunks of `sources` (stored paths) if given."""
        ...


class Expand(Protocol):
    def __call__(self, question: str, hits: list[Hit], llm: LLM) -> str:
        """What to search the evidence with, given the hits the question alone found."""
        ...


class Screen(Protocol):
    def __call__(self, hits: list[Hit]) -> list[Hit]:
        """The hits as the model may read them (text aimed at the model removed)."""
        ...


class Select(Protocol):
    def __call__(self, searched: str, hits: list[Hit], question: str) -> list[Evidence]:
        """The few sentences of the hits the prompt carries, by passage: chosen with what
        was searched, scored against the question (they differ when the search was expanded)."""
        ...


class Decide(Protocol):
    def __call__(
        self,
        question: str,
        messages: list[Message],
        evidence: list[Evidence],
        llm: LLM,
        signals: dict[str, float],
    ) -> bool:
        """Whether to ask the model to answer (False: abstain); records what it weighed."""
        ...


@dataclass(frozen=True)
class Draft:
    """The model's final reply, after any re-asks (the last item `Generate` yields)."""

    text: str


class Generate(Protocol):
    def __call__(
        self,
        llm: LLM,
        messages: list[Message],
        question: str,
        language: str,
        max_tokens: int,
        sources: Sequence[str] = (),
    ) -> Iterator[str | Draft]:
        """Stream the reply's pieces as the model writes them, then the Draft."""
        ...


class Finish(Protocol):
    def __call__(self, draft: str, question: str, sources: list[Source]) -> Answer:
        """The reply as an Answer whose citations point at real sources and hold its facts."""
        ...


@dataclass(frozen=True)
class Steps:
    condense: Condense
    retrieve: Retrieve
    expand: Expand
    screen: Screen
    select: Select
    decide: Decide
    generate: Generate
    finish: Finish


def default_steps(
    settings: RagSettings, store: Store, embedder: Embedder, scorer: SentenceScorer
) -> Steps:
    return Steps(
        condense=condense,
        retrieve=HybridRetriever(
            store,
            scorer,
            RetrievalWeights(
                candidates=settings.retrieve_candidates,
                keyword_weight=settings.keyword_weight,
                sentence_weight=settings.sentence_weight,
                rerank=settings.rerank_passages,
                crosslingual=settings.crosslingual_bonus,
            ),
        ),
        expand=Hypothesize() if settings.hypothetical_search else keep_question,
        screen=screen_hits,
        select=EvidenceSelector(
            scorer,
            settings.evidence_passages,
            settings.evidence_sentences,
            settings.evidence_margin,
        ),
        decide=Answerability(settings, embedder.name),
        generate=generate,
        finish=finish,
    )


class EvidenceSelector:
    """select_evidence with the engine's sentence scorer and limits."""

    def __init__(
        self, scorer: SentenceScorer, passages: int, sentences: int, margin: float
    ) -> None:
        self.scorer = scorer
        self.passages = passages
        self.sentences = sentences
        self.margin = margin

    def __call__(self, searched: str, hits: list[Hit], question: str) -> list[Evidence]:
        vector = self.scorer.query_vector(searched)
        judge = None if question == searched else self.scorer.query_vector(question)
        return select_evidence(
            vector, hits, self.scorer, self.passages, self.sentences, self.margin, judge_vec=judge
        )


class Answerability:
    """The abstention rule of rag/abstain.py, asked with the model's P(refusal) when the LLM
    declares token probabilities (and `probe` is on), else with the evidence floor alone."""

    def __init__(self, settings: RagSettings, embed_model: str, *, probe: bool = True) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.probe = probe  # False: never ask the model, as for an LLM without probabilities

    def __call__(
        self,
        question: str,
        messages: list[Message],
        evidence: list[Evidence],
        llm: LLM,
        signals: dict[str, float],
    ) -> bool:
        refusal = (
            llm.first_token_probability(messages, CANNOT_ANSWER_PHRASE)
            if self.probe and llm.token_probabilities
            else None
        )
        return abstain.answerable(
            question,
            evidence,
            refusal,
            embed_model=self.embed_model,
            llm_name=llm.name,
            min_evidence_score=self.settings.min_evidence_score,
            min_answerability=self.settings.min_answerability,
            signals=signals,
        )


def generate(
    llm: LLM,
    messages: list[Message],
    question: str,
    language: str,
    max_tokens: int,
    sources: Sequence[str] = (),
) -> Iterator[str | Draft]:
    """The model's reply, asked again when it has no answer in it ("[2]", "The maximum is
    [1].", the question said back as a statement) or is in the sources' language instead of
    the asker's, whole or in words copied from `sources` (the evidence the model read): the
    small model does each now and then, and writes the answer out (or translates it) when
    told. A written-out answer may still be in the wrong language, so it can then be asked
    for a translation; each kind of re-ask is made once at most.
    """
    pieces: list[str] = []
    for piece in llm.stream(messages, max_tokens):
        pieces.append(piece)
        yield piece
    reply = "".join(pieces)
    asked_for: set[str] = set()
    while (
        follow_up := _follow_up(question, reply, language, sources)
    ) and follow_up not in asked_for:
        asked_for.add(follow_up)
        messages = [
            *messages,
            {"role": "assistant", "content": reply},
            {"role": "user", "content": follow_up},
        ]
        pieces = []
        yield "\n"
        for piece in llm.stream(messages, max_tokens):
            pieces.append(piece)
            yield piece
        reply = "".join(pieces)
    yield Draft(reply)


def _follow_up(question: str, reply: str, language: str, sources: Sequence[str] = ()) -> str | None:
    """What to ask the model after `reply`, when it did not answer in full; else None."""
    if cite.is_bare_marker(reply) or restates_question(reply, question):
        return WRITE_OUT.format(language=language)
    if abstain.is_abstention(reply):
        return None
    expected = confident_language(question)
    if not expected:
        return None
    copied = copied_words(reply, expected, sources, question)
    if copied or not is_in_language(reply, expected):
        # Named, the words left in the sources' language get translated; asked only to
        # "write that answer in English", the model returns "the Italian luchtvaartbedrijf".
        name = language_name(expected)
        left = list(dict.fromkeys(foreign_words(reply, expected) + copied))
        words = ", ".join(f'"{w}"' for w in left[:3])
        return TRANSLATE.format(language=name) + (
            NOT_IN_LANGUAGE.format(words=words, language=name) if words else ""
        )
    return None


def finish(draft: str, question: str, sources: list[Source]) -> Answer:
    """Turn the model's reply into an Answer with only citations that point at real sources.

    An abstention, a reply still without its answer after the re-ask ("The maximum is [1]."),
    or one whose names and numbers the cited sources do not hold (rag/grounding.py), is
    returned with `abstained` set and no text of its own.
    """
    raw = cite.markers_last(draft.strip())
    if not sources or not raw or abstain.is_abstention(raw) or cite.is_bare_marker(raw):
        return Answer("", [], True, question, question, sources)
    grounded = ground(
        raw, question, {s.n: s.text for s in sources}, {s.n: " ".join(s.evidence) for s in sources}
    )
    if grounded is None:
        return Answer("", [], True, question, question, sources)
    by_n = {s.n: s for s in sources}
    text, order = cite.renumber(grounded, set(by_n))
    if not order:
        guess = cite.attribute(text, [" ".join(s.evidence) for s in sources])
        if guess is not None:
            text, order = text.rstrip() + " [1]", [guess]
    citations = [
        Citation(
            n=new,
            source=by_n[old].source,
            text=by_n[old].text,
            page=by_n[old].page,
            score=by_n[old].score,
            title=by_n[old].title,
            quote=" ".join(by_n[old].evidence),
            sentences=by_n[old].evidence,
            start=by_n[old].start,
            end=by_n[old].end,
        )
        for new, old in enumerate(order, start=1)
    ]
    return Answer(text, citations, False, question, question, sources)
