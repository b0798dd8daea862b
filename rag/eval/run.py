"""One benchmark run: index the dataset's passages, ask every question, score the results."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import Embedder, Hit
from rag.engine import Engine
from rag.eval import metrics
from rag.eval.corpus import eval_store_settings, index_dataset
from rag.eval.datasets import Dataset, Question, load_dataset
from rag.language import is_in_language, language_code, reply_language
from rag.llm import LLM
from rag.settings import RagSettings
from rag.steps import Retrieve

RANKED = 10  # passages ranked per question for the retrieval measures


@dataclass(frozen=True)
class EvalOptions:
    split: str = "test"
    limit: int | None = None
    answer: bool = True
    drop_gold: bool = False  # hide each question's relevant passages: the answer must abstain
    show_progress: bool = True
    kind: str | None = None  # only the questions of this kind (datasets.KINDS)

    def questions(self, dataset: Dataset) -> list[Question]:
        """The questions to score: of `kind` if given, then the first `limit`."""
        chosen = [q for q in dataset.questions if self.kind is None or q.kind == self.kind]
        return chosen[: self.limit] if self.limit else chosen

    @property
    def mode(self) -> str:
        return "drop-gold" if self.drop_gold else "answer" if self.answer else "retrieval"


@dataclass
class Result:
    """What the system returned for one question, next to what the benchmark expects."""

    question: Question
    ranked: list[str]  # passage ids, best first
    seconds: float
    abstained: bool | None = None  # None when no answer was asked for
    correct: bool = False
    citations_ok: list[bool] = field(default_factory=list)
    reply: str = ""
    evidence_score: float | None = None  # best evidence sentence's similarity to the question
    cited: list[str] = field(default_factory=list)  # passage ids of the citations
    cited_pages: list[int | None] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # what the LLM was shown, per source
    searched: str = ""  # the question that was searched (a follow-up's rewrite)
    language_ok: bool | None = None  # the reply is in the question's language, whole
    reply_language: str = ""
    signals: dict[str, float] = field(default_factory=dict)
    draft: str = ""

    def recall(self, k: int) -> float:
        return metrics.recall_at(self.ranked, self.question.relevant, k)

    @property
    def page_ok(self) -> bool | None:
        """For an answered PDF question: a citation points at a page holding the answer."""
        q = self.question
        if not q.pages or self.abstained is not False or not self.cited:
            return None
        return any(
            source in q.relevant and page in q.pages
            for source, page in zip(self.cited, self.cited_pages, strict=True)
        )


@dataclass
class EvalReport:
    dataset: str
    split: str
    mode: str
    results: list[Result]
    passages: int
    embedded: int
    index_seconds: float
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        r = self.results
        scored = self.mode != "drop-gold"  # hidden gold makes retrieval and accuracy moot
        out = self._scores(r, scored)
        kinds = sorted({x.question.kind for x in r if x.question.kind})
        if kinds:
            out["kinds"] = {k: self._kind(k, scored) for k in kinds}
        return out

    def _kind(self, kind: str, scored: bool) -> dict[str, Any]:
        r = [x for x in self.results if x.question.kind == kind]
        scores = self._scores(r, scored)
        return {
            "n": len(r),
            "recall@5": scores["retrieval"]["recall@5"],
            **scores["answer"],
        }

    def _scores(self, r: list[Result], scored: bool) -> dict[str, Any]:
        answered = [x for x in r if x.abstained is not None]
        cited = [float(ok) for x in answered for ok in x.citations_ok]
        located = [x for x in r if x.question.relevant]  # unanswerable ones have no gold
        answerable = [x for x in answered if not x.question.unanswerable]
        unanswerable = [x for x in answered if x.question.unanswerable]
        pages = [float(ok) for x in answered if (ok := x.page_ok) is not None]
        languages = [float(x.language_ok) for x in answered if x.language_ok is not None]
        return {
            "dataset": self.dataset,
            "split": self.split,
            "mode": self.mode,
            "n": len(r),
            "retrieval": {
                "recall@1": metrics.mean([x.recall(1) for x in located]) if scored else None,
                "recall@5": metrics.mean([x.recall(5) for x in located]) if scored else None,
                "mrr": metrics.mean(
                    [metrics.reciprocal_rank(x.ranked, x.question.relevant) for x in located]
                )
                if scored
                else None,
                "ndcg@10": metrics.mean(
                    [metrics.ndcg_at(x.ranked, x.question.relevant) for x in located]
                )
                if scored
                else None,
            },
            "answer": {
                "accuracy": metrics.mean([float(x.correct) for x in answered]) if scored else None,
                "abstain_rate": metrics.mean([float(bool(x.abstained)) for x in answered]),
                "citation_precision": metrics.mean(cited) if scored else None,
                # Set only where the set says which questions have no answer in the documents.
                "unanswerable_abstained": metrics.mean(
                    [float(bool(x.abstained)) for x in unanswerable]
                ),
                "wrong_abstentions": metrics.mean([float(bool(x.abstained)) for x in answerable])
                if unanswerable
                else None,
                "pdf_page": metrics.mean(pages),
                "language": metrics.mean(languages),
            },
            "latency_s": {
                "p50": metrics.percentile([x.seconds for x in r], 50),
                "p95": metrics.percentile([x.seconds for x in r], 95),
            },
            "index": {
                "passages": self.passages,
                "embedded": self.embedded,
                "seconds": round(self.index_seconds, 1),
            },
            "elapsed_s": round(self.elapsed_s, 1),
        }

    def details(self) -> list[dict[str, Any]]:
        """One record per question, for looking into failures (`rag eval --details FILE`)."""
        return [
            {
                "id": x.question.id,
                "question": x.question.text,
                "answers": list(x.question.answers),
                "relevant": x.question.relevant,
                "ranked": x.ranked,
                "seconds": round(x.seconds, 3),
                "kind": x.question.kind,
                "history": [list(t) for t in x.question.history],
                "searched": x.searched,
                "reply": x.reply,
                "reply_language": x.reply_language,
                "language_ok": x.language_ok,
                "page_ok": x.page_ok,
                "cited_pages": x.cited_pages,
                "abstained": x.abstained,
                "correct": x.correct,
                "cited": x.cited,
                "citations_ok": x.citations_ok,
                "evidence_score": x.evidence_score,
                "signals": x.signals,
                "draft": x.draft,
                "evidence": x.evidence,
            }
            for x in self.results
        ]


class _HidingRetriever:
    """Retrieval as usual, minus the passages a drop-gold run hides for the current question."""

    def __init__(self, inner: Retrieve) -> None:
        self.inner = inner
        self.hidden: set[str] = set()

    def __call__(self, question: str, k: int, sources: Collection[str] | None = None) -> list[Hit]:
        # A hidden document may hold many chunks: ask for enough that k others remain.
        hits = self.inner(question, k + 50 * len(self.hidden), sources)
        return [h for h in hits if h.chunk.source not in self.hidden][:k]


def evaluate(
    directory: str | Path,
    options: EvalOptions | None = None,
    settings: RagSettings | None = None,
    *,
    embedder: Embedder | None = None,
    llm: LLM | None = None,
) -> EvalReport:
    """Index the benchmark into its own store (reused when unchanged) and score every question."""
    from tqdm import tqdm

    options = options or EvalOptions()
    started = time.perf_counter()
    dataset = load_dataset(directory, options.split)
    questions = options.questions(dataset)
    settings = settings or RagSettings()
    index_settings = eval_store_settings(settings.index, dataset.name)
    _, embedder, embedded = index_dataset(
        dataset, index_settings, embedder, show_progress=options.show_progress
    )
    index_seconds = time.perf_counter() - started
    engine = Engine(
        settings.model_copy(update={"index": index_settings}), embedder=embedder, llm=llm
    )
    sentence_cache = index_settings.store_dir / "sentence-vectors.npz"
    engine.scorer.load(sentence_cache)
    hiding = _HidingRetriever(engine.steps.retrieve)
    if options.drop_gold:
        engine = engine.with_steps(retrieve=hiding)
    answer = (options.answer or options.drop_gold) and dataset.has_answers

    results: list[Result] = []
    bar = tqdm(
        questions,
        desc=f"{dataset.name} {options.mode}",
        unit="q",
        disable=not options.show_progress,
    )
    for q in bar:
        hiding.hidden = {dataset.source_of(p) for p in q.relevant} if options.drop_gold else set()
        result = Result(q, [], 0.0, searched=q.text)
        if answer:
            _answer(engine, q, result, dataset)
        t0 = time.perf_counter()
        # A follow-up is measured on the question the engine searched (its rewrite).
        hits = engine.steps.retrieve(result.searched, RANKED)
        result.ranked = _passage_ids(hits, dataset)
        if not answer:
            result.seconds = time.perf_counter() - t0
        results.append(result)
        bar.set_postfix_str(_running(results), refresh=False)
    engine.scorer.save(sentence_cache)
    return EvalReport(
        dataset.name,
        options.split,
        options.mode,
        results,
        len(dataset.passages),
        embedded,
        index_seconds,
        time.perf_counter() - started,
    )


def _answer(engine: Engine, q: Question, result: Result, dataset: Dataset) -> None:
    t0 = time.perf_counter()
    reply = engine.ask(q.text, list(q.history))
    result.seconds = time.perf_counter() - t0
    result.abstained = reply.abstained
    result.searched = reply.standalone_question or q.text
    if q.unanswerable:
        result.correct = reply.abstained
    else:
        result.correct = not reply.abstained and metrics.is_right(
            reply.text, q.answers, q.answers_all
        )
    accepted = (*q.answers, *q.answers_all)
    result.citations_ok = [metrics.contains_answer(c.text, accepted) for c in reply.citations]
    result.reply = reply.text
    result.signals = dict(reply.signals)
    result.draft = reply.draft
    result.cited = [dataset.passage_id(c.source) for c in reply.citations]
    result.cited_pages = [c.page for c in reply.citations]
    result.evidence_score = max((s.score for s in reply.sources), default=None)
    result.evidence = [f"{s.source}: {' '.join(s.evidence)}" for s in reply.sources]
    expected = q.lang or language_code(q.text)
    if expected:
        result.reply_language = reply_language(reply.text) or ""
        result.language_ok = is_in_language(reply.text, expected)


def _passage_ids(hits: list[Hit], dataset: Dataset) -> list[str]:
    # Documents hold many chunks and a passage may be cut in two: count each source once.
    return list(dict.fromkeys(dataset.passage_id(h.chunk.source) for h in hits))


def _running(results: list[Result]) -> str:
    r1 = metrics.mean([x.recall(1) for x in results if x.question.relevant]) or 0.0
    answered = [x for x in results if x.abstained is not None]
    if not answered:
        return f"R@1 {r1:.3f}"
    acc = metrics.mean([float(x.correct) for x in answered]) or 0.0
    abst = metrics.mean([float(bool(x.abstained)) for x in answered]) or 0.0
    return f"R@1 {r1:.3f} acc {acc:.3f} abstain {abst:.3f}"
