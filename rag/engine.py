"""Answering: the steps of rag/steps.py run in order, from a question to a cited Answer."""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from index import (
    Embedder,
    FileRecord,
    Hit,
    IndexReport,
    Progress,
    index_paths,
    open_store,
    remove_documents,
)
from index.watch import Sync, watch_paths
from rag.abstain import crosses_languages
from rag.condense import Turn, rewrite_messages
from rag.errors import QuestionError
from rag.evidence import Evidence, SentenceScorer
from rag.guard import clean_text
from rag.hypothesis import hypothesis_messages, keep_question
from rag.language import question_language
from rag.llm import LLM, Message, load_llm
from rag.llm.base import Prefills
from rag.prompt import asks_why, build_messages, no_answer_text
from rag.settings import RagSettings
from rag.steps import Draft, Steps, default_steps
from rag.timing import Timings, recording, stage
from rag.types import Answer, Retrieved, Source, Token


@dataclass(frozen=True)
class Status:
    documents: int
    chunks: int
    embed_model: str
    location: str  # store directory or Chroma server URL


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Prepared:
    """A question ready for the model (Engine.prepare): what was asked and found (`retrieved`:
    the sources to show), the standalone question, the answer's language, the evidence and
    the prompt; the stage timings so far."""

    retrieved: Retrieved
    standalone: str
    language: str
    evidence: list[Evidence]
    messages: list[Message]
    timings: Timings


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
        self.steps = default_steps(self.settings, self.store, self.embedder, self.scorer)

    def with_steps(self, **changes: Any) -> Engine:
        """This engine (same store, models and caches) with some steps swapped.

        `engine.with_steps(retrieve=my_retriever)`; the names are the fields of rag.steps.Steps.
        """
        unknown = set(changes) - set(Steps.__dataclass_fields__)
        if unknown:
            raise TypeError(
                f"Unknown step(s) {', '.join(sorted(unknown))}; the steps are "
                f"{', '.join(Steps.__dataclass_fields__)}."
            )
        other = copy.copy(self)
        other.steps = replace(self.steps, **changes)
        return other

    def warm(self, max_chunks: int = 3000, on_stage: Callable[[str], None] | None = None) -> None:
        """Do now what the first question would otherwise wait for, saying what (`on_stage`).

        Load the LLM and read the fixed part of its prompts (the follow-up rewrite's, the
        hypothetical answer's and the answer's instructions: the prefix cache keeps them);
        load the language detector; load the vector and keyword indexes with one search; and,
        for a store this small, embed every sentence (re-ranking and evidence selection score
        the sentences of retrieved passages, which on a cold cache is most of a first
        answer's wait).
        """
        tell = on_stage or (lambda _stage: None)
        tell("loading the language model")
        llm = self.llm
        if isinstance(llm, Prefills):
            tell("reading the prompt instructions")
            llm.prefill(rewrite_messages("?", [("?", "?")]))
            if self.settings.hypothetical_search:
                llm.prefill(hypothesis_messages("?"))
            llm.prefill(build_messages("?", [], "English"))  # last: the context keeps it
        tell("loading the language detector")
        question_language("What did the company acquire in Italy?")
        chunks = self.store.count_chunks()
        if not chunks:
            return
        tell("loading the search indexes")
        self._retrieve("What is this about?", None)
        if chunks > max_chunks:
            return
        texts = [s.text for c in self.store.all_chunks() for s in c.sentences()]
        tell(f"embedding {len(texts)} sentences")
        for i in range(0, len(texts), 32):  # small batches: a question waits one batch at most
            self.scorer.vectors(texts[i : i + 32])

    # --- the documents (what clients of rag index, list and remove through) --------------
    def documents(self) -> dict[str, FileRecord]:
        """Every indexed document, by stored path."""
        return self.store.files()

    def status(self) -> Status:
        return Status(
            documents=len(self.store.files()),
            chunks=self.store.count_chunks(),
            embed_model=self.embedder.name,
            location=self.store.location,
        )

    def add(
        self,
        paths: Iterable[str | Path],
        progress: Callable[[Progress], None] | None = None,
    ) -> IndexReport:
        """Index files or folders into this engine's store (as `rag index` does)."""
        return index_paths(paths, self.settings.index, embedder=self.embedder, progress=progress)

    def remove(self, sources: Iterable[str | Path]) -> list[str]:
        """Remove documents (or every document under a folder) from the store."""
        return remove_documents(sources, self.settings.index)

    def watch(
        self,
        paths: Iterable[str | Path],
        on_sync: Callable[[Sync], None] | None = None,
        stop: threading.Event | None = None,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        """Index `paths`, then keep the store in sync with them until `stop` is set."""
        watch_paths(
            paths,
            self.settings.index,
            embedder=self.embedder,
            on_sync=on_sync,
            stop=stop,
            lock=lock,
        )

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = load_llm(self.settings, self.settings.index.cache_dir)
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
        return self._retrieve(question, scope)

    def _retrieve(self, question: str, scope: list[str] | None) -> list[Hit]:
        return self.steps.retrieve(question, self.settings.top_k, scope or None)

    def evidence(self, question: str, scope: list[str] | None = None) -> list[Evidence]:
        """The evidence the prompt would carry for `question` (retrieve, expand, screen,
        select); the `expand` step may ask the model for a hypothetical answer to search with."""
        self.store.require_documents()
        return self._evidence(question, scope)

    def _evidence(
        self, question: str, scope: list[str] | None, *, expand: bool = True
    ) -> list[Evidence]:
        """`expand=False`: searched with `question` alone, without the model (a preview, a
        follow-up's rewrite)."""
        hits, searched = self._retrieve(question, scope), question
        if expand:
            with stage("expand"):
                searched = self.steps.expand(question, hits, self.llm)
            if searched != question:
                hits = self._retrieve(searched, scope)
        # Document text that speaks to the model never reaches the prompt (rag/guard.py).
        with stage("screen"):
            hits = self.steps.screen(hits)
        with stage("select"):
            # Scored against the question alone: the answerability floor is calibrated so, and
            # the seed article's Dutch question fell under it when scored against its expansion.
            return self.steps.select(searched, hits, question)

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
        for event in self.stream_events(question, history, sources):
            if not isinstance(event, Retrieved):
                yield event

    def stream_events(
        self,
        question: str,
        history: list[Turn] | None = None,
        sources: Sequence[str | Path] | None = None,
    ) -> Iterator[Retrieved | Token | Answer]:
        """Like `stream`, with a Retrieved event first: the sources, as soon as they are known
        (before the model reads them), so a chat can show them while the answer is written."""
        prepared = self.prepare(question, history, sources)
        yield prepared.retrieved
        yield from self.answer_events(prepared)

    def prepare(
        self,
        question: str,
        history: list[Turn] | None = None,
        sources: Sequence[str | Path] | None = None,
    ) -> Prepared:
        """The part of an answer before the model writes: clean the question, rewrite a
        follow-up (the one use of the model here), find the evidence, build the prompt.

        `answer_events(prepared)` then writes the answer; the two together are
        `stream_events`. A chat can prepare while the model is busy with someone else's
        answer, and show the sources meanwhile, when there is no follow-up to rewrite.
        """
        steps = self.steps
        timings = Timings()
        with recording(timings):
            with stage("clean"):
                asked, scope = self._begin(question, sources)
            with stage("condense"):
                condensed = steps.condense(asked, history or [], self.llm)
            standalone, searched = condensed.question, condensed.search
            with stage("language"):
                language = question_language(asked)
            # The answer reads the last turn too: rag/prompt.py build_messages.
            earlier = (history or [])[-1:]
            # A follow-up is searched as the model rewrote it; a hypothetical answer to that
            # rewrite is a guess upon a guess (realdocs dev follow-ups: 1 lost, none gained)
            # and would add to the slowest answers' wait.
            found = self._evidence(searched, scope, expand=not history)
            evidence = self._fit(standalone, found, earlier)
            shown = [_source(n, ev) for n, ev in enumerate(evidence, start=1)]
            explain = asks_why(standalone) and bool(evidence)
            explain = explain and not crosses_languages(standalone, evidence)
            messages = build_messages(
                standalone, evidence, language, explain=explain, earlier=earlier
            )
        return Prepared(
            Retrieved(asked, searched, shown), standalone, language, evidence, messages, timings
        )

    @property
    def prepare_asks_model(self) -> bool:
        """Whether `prepare` may ask the model for a first question too (the expand step's
        hypothetical answer), so a chat that must not wait for the model shows a `preview`."""
        return self.steps.expand is not keep_question

    def _begin(
        self, question: str, sources: Sequence[str | Path] | None
    ) -> tuple[str, list[str] | None]:
        """The cleaned question and the documents it is limited to (refusing an empty store)."""
        asked = self.clean_question(question)
        self.store.require_documents()
        return asked, self.scope(sources)

    def preview(
        self,
        question: str,
        history: list[Turn] | None = None,
        sources: Sequence[str | Path] | None = None,
    ) -> Retrieved:
        """The sources a question will most likely be answered from, found without the model.

        A follow-up is searched together with the previous question (what a refused rewrite
        falls back to), so a chat has something to show while the model rewrites it.
        """
        asked, scope = self._begin(question, sources)
        searched = f"{history[-1][0]} {asked}" if history else asked
        evidence = self._fit(searched, self._evidence(searched, scope, expand=False))
        return Retrieved(asked, searched, [_source(n, ev) for n, ev in enumerate(evidence, 1)])

    def answer_events(self, prepared: Prepared) -> Iterator[Token | Answer]:
        """Write the answer to a prepared question: Tokens as the model writes, then the
        Answer (citations parsed and checked); no model call when the evidence cannot answer."""
        steps, timings, found = self.steps, prepared.timings, prepared.retrieved
        asked, searched, shown = found.question, found.searched, found.sources
        standalone, language = prepared.standalone, prepared.language
        evidence, messages = prepared.evidence, prepared.messages
        signals: dict[str, float] = {}
        # No evidence: nothing an answer could cite, so the model is not asked. Evidence that
        # is near the question but does not answer it: a small model tends to answer from it
        # anyway, so it is not asked either.
        with recording(timings), stage("decide"):
            answering = bool(evidence) and steps.decide(
                standalone, messages, evidence, self.llm, signals
            )
        if not answering:
            no = _no_answer(asked, searched, shown, language)
            yield replace(no, signals=signals, timings=timings.stages)
            return
        draft = ""
        asked_model = time.perf_counter()
        first: float | None = None
        read = [" ".join(s.text for s in ev.sentences) for ev in evidence]
        for piece in steps.generate(
            self.llm, messages, asked, language, self.settings.max_answer_tokens, read
        ):
            if isinstance(piece, Draft):
                draft = piece.text
            else:
                if first is None:
                    first = time.perf_counter()
                    timings.add("first_token", first - asked_model)
                yield Token(piece)
        timings.add("decode", time.perf_counter() - (first or asked_model))
        with recording(timings), stage("finish"):
            answer = steps.finish(draft, standalone, shown)
            if answer.abstained:
                answer = _no_answer(asked, searched, shown, language)
        yield replace(
            answer,
            question=asked,
            standalone_question=searched,
            signals=signals,
            draft=draft,
            timings=timings.stages,
        )

    def answerable(
        self,
        question: str,
        messages: list[Message],
        evidence: list[Evidence],
        signals: dict[str, float] | None = None,
    ) -> bool:
        """Whether the evidence is likely to answer (the `decide` step; rag/abstain.py)."""
        return self.steps.decide(
            question, messages, evidence, self.llm, {} if signals is None else signals
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

    def _fit(
        self, question: str, evidence: list[Evidence], earlier: Sequence[Turn] = ()
    ) -> list[Evidence]:
        """Drop the weakest evidence until the prompt fits the model's context window."""
        budget = self.llm.context_window - self.settings.max_answer_tokens - 64
        while evidence:
            messages = build_messages(question, evidence, "English", earlier=earlier)
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


def _no_answer(asked: str, searched: str, sources: list[Source], language: str) -> Answer:
    return Answer(no_answer_text(language), [], True, asked, searched, sources)
