"""Answering: question -> retrieve -> select evidence -> prompt -> LLM -> cited Answer."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from index import Embedder, Hit, open_store
from index.chunk import split_sentences
from rag import abstain
from rag import citations as cite
from rag.condense import Turn, condense
from rag.errors import QuestionError
from rag.evidence import Evidence, SentenceScorer, select_evidence
from rag.grounding import ground
from rag.guard import clean_text, screen_hits
from rag.language import confident_language, is_in_language, language_name, question_language
from rag.llm import LLM, Message, load_llm
from rag.prompt import (
    CANNOT_ANSWER_PHRASE,
    TRANSLATE,
    WRITE_OUT,
    build_messages,
    no_answer_text,
)
from rag.retrieve import HybridRetriever, RetrievalWeights, Retrieve, ScopedRetrieve
from rag.settings import RagSettings
from rag.types import Answer, Citation, Source, Token

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Engine:
    """Everything one configuration needs to answer: store, embedder, LLM (loaded lazily)."""

    def __init__(
        self,
        settings: RagSettings | None = None,
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
    ) -> None:
        self.settings = settings or RagSettings()
        self.store, self.embedder = open_store(self.settings.index, embedder)
        self._llm = llm
        self._llm_lock = threading.Lock()
        self.scorer = SentenceScorer(self.embedder)
        hybrid = HybridRetriever(
            self.store,
            self.embedder,
            self.scorer,
            RetrievalWeights(
                candidates=self.settings.retrieve_candidates,
                keyword_weight=self.settings.keyword_weight,
                sentence_weight=self.settings.sentence_weight,
                rerank=self.settings.rerank_passages,
            ),
        )
        # `retriever` is the step eval swaps (drop-gold); questions limited to some documents
        # go to `scoped_retriever`, which filters inside the store and keyword queries.
        self.retriever: Retrieve = hybrid
        self.scoped_retriever: ScopedRetrieve = hybrid

    def warm(self, max_chunks: int = 3000) -> None:
        """Load the LLM and, for a store this small, embed every sentence before it is asked.

        Re-ranking and evidence selection score the sentences of retrieved passages; on a
        cold cache that is most of the wait for the first answer.
        """
        _ = self.llm
        if self.store.count_chunks() > max_chunks:
            return
        texts = [s.text for c in self.store.all_chunks() for s in split_sentences(c.text)]
        for i in range(0, len(texts), 32):  # small batches: a question waits one batch at most
            self.scorer.vectors(texts[i : i + 32])

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = load_llm(self.settings)
            return self._llm

    def clean_question(self, question: str) -> str:
        text = _CONTROL.sub(" ", clean_text(question or "")).strip()
        if not text:
            raise QuestionError(
                "The question is empty. Ask something about your documents, for example: "
                'rag ask "What did Baykar acquire in Italy?"'
            )
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise QuestionError(
                f"The question is {len(text)} characters long; the limit is {limit}. "
                "Shorten it (or raise RAG_MAX_QUESTION_CHARS)."
            )
        return text

    def scope(self, sources: Sequence[str | Path] | None) -> list[str] | None:
        """The stored documents that `sources` (paths or folders) name; None: all of them."""
        return self.store.resolve_sources(sources) if sources else None

    def retrieve(self, question: str, scope: list[str] | None = None) -> list[Hit]:
        """The top chunks for the question; only of the documents in `scope` when given."""
        self.store.require_documents()
        if scope:
            return self.scoped_retriever.retrieve(question, self.settings.top_k, scope)
        return self.retriever.retrieve(question, self.settings.top_k)

    def evidence(self, question: str, scope: list[str] | None = None) -> list[Evidence]:
        # Document text that speaks to the model never reaches the prompt (rag/guard.py).
        hits = screen_hits(self.retrieve(question, scope))
        vector = self.embedder.embed_query(question)
        return select_evidence(
            vector,
            hits,
            self.scorer,
            self.settings.evidence_passages,
            self.settings.evidence_sentences,
        )

    def stream(
        self,
        question: str,
        history: list[Turn] | None = None,
        sources: Sequence[str | Path] | None = None,
    ) -> Iterator[Token | Answer]:
        """Yield Tokens as the LLM writes, then the final Answer (with parsed citations).

        With `history` (earlier (question, answer) turns), a follow-up is first rewritten
        into a standalone question; that is what is searched and answered. With `sources`
        (document paths or folders), only those documents are searched.
        """
        asked = self.clean_question(question)
        self.store.require_documents()
        scope = self.scope(sources)
        condensed = condense(asked, history or [], self.llm)
        standalone, searched = condensed.question, condensed.search
        language = question_language(asked)
        evidence = self._fit(standalone, self.evidence(searched, scope))
        shown = [_source(n, ev) for n, ev in enumerate(evidence, start=1)]
        messages = build_messages(standalone, evidence, language)
        signals: dict[str, float] = {}
        if evidence and not self.answerable(standalone, messages, evidence, signals):
            # A small model shown evidence that is near the question but does not answer it
            # tends to answer from it anyway, so it is not asked to.
            yield replace(_no_answer(asked, searched, shown, language), signals=signals)
            return
        pieces: list[str] = []
        for piece in self.llm.stream(messages, self.settings.max_answer_tokens):
            pieces.append(piece)
            yield Token(piece)
        reply = "".join(pieces)
        # Asked again when the reply has no answer in it ("[2]", "The maximum is [1].") or
        # is in the sources' language instead of the asker's: the small model does both now
        # and then, and writes the answer out (or translates it) when told. A written-out
        # answer may still be in the wrong language, so it can be asked for a translation.
        asked_for: set[str] = set()
        while (follow_up := _follow_up(asked, reply, language)) and follow_up not in asked_for:
            asked_for.add(follow_up)
            messages = [
                *messages,
                {"role": "assistant", "content": reply},
                {"role": "user", "content": follow_up},
            ]
            pieces = []
            yield Token("\n")
            for piece in self.llm.stream(messages, self.settings.max_answer_tokens):
                pieces.append(piece)
                yield Token(piece)
            reply = "".join(pieces)
        draft = "".join(pieces)
        answer = _finish(draft, standalone, shown)
        if answer.abstained:
            answer = _no_answer(asked, searched, shown, language)
        yield replace(
            answer, question=asked, standalone_question=searched, signals=signals, draft=draft
        )

    def answerable(
        self,
        question: str,
        messages: list[Message],
        evidence: list[Evidence],
        signals: dict[str, float] | None = None,
    ) -> bool:
        """Whether the evidence is likely to answer; False means the reply is an abstention.

        The rule and its calibrated thresholds are in rag/abstain.py.
        """
        probe = getattr(self.llm, "first_token_probability", None)
        return abstain.answerable(
            question,
            evidence,
            probe(messages, CANNOT_ANSWER_PHRASE) if probe is not None else None,
            embed_model=self.embedder.name,
            llm_name=self.llm.name,
            min_evidence_score=self.settings.min_evidence_score,
            min_answerability=self.settings.min_answerability,
            signals=signals,
        )

    def ask(
        self,
        question: str,
        history: list[Turn] | None = None,
        sources: Sequence[str | Path] | None = None,
    ) -> Answer:
        answer = None
        for event in self.stream(question, history, sources):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def _fit(self, question: str, evidence: list[Evidence]) -> list[Evidence]:
        """Drop the weakest evidence until the prompt fits the model's context window."""
        budget = self.llm.context_window - self.settings.max_answer_tokens - 64
        while evidence:
            messages = build_messages(question, evidence, "English")
            used = sum(self.llm.count_tokens(m["content"]) for m in messages)
            if used <= budget:
                break
            evidence = evidence[:-1]
        return evidence


def _source(n: int, ev: Evidence) -> Source:
    chunk = ev.hit.chunk
    return Source(
        n=n,
        source=chunk.source,
        title=chunk.title,
        page=chunk.page,
        text=chunk.text,
        evidence=tuple(s.text for s in ev.sentences),
        start=chunk.start,
        end=chunk.end,
        score=round(ev.score, 4),
    )


def _follow_up(question: str, reply: str, language: str) -> str | None:
    """What to ask the model after `reply`, when it did not answer in full; else None."""
    if cite.is_bare_marker(reply):
        return WRITE_OUT.format(language=language)
    if abstain.is_abstention(reply):
        return None
    expected = confident_language(question)
    if expected and not is_in_language(reply, expected):
        return TRANSLATE.format(language=language_name(expected))
    return None


def _no_answer(asked: str, searched: str, sources: list[Source], language: str) -> Answer:
    return Answer(no_answer_text(language), [], True, asked, searched, sources)


def _finish(raw: str, question: str, sources: list[Source]) -> Answer:
    """Turn the model's reply into an Answer with only citations that point at real sources.

    An abstention, or a reply whose names and numbers the cited sources do not hold
    (rag/grounding.py), is returned with `abstained` set and no text of its own.
    """
    raw = cite.markers_last(raw.strip())
    if not sources or not raw or abstain.is_abstention(raw):
        return Answer("", [], True, question, question, sources)
    grounded = ground(raw, question, {s.n: s.text for s in sources})
    if grounded is None:
        return Answer("", [], True, question, question, sources)
    raw = grounded
    by_n = {s.n: s for s in sources}
    text, order = cite.renumber(raw, set(by_n))
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
