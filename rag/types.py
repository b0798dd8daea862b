"""Values that cross from the answering layer to its callers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """A passage the LLM was shown, numbered as in the prompt."""

    n: int
    source: str
    title: str
    page: int | None
    text: str  # the whole retrieved passage (chunk), in its original language
    evidence: tuple[str, ...]  # the sentences of it given to the LLM
    start: int  # character offsets of the passage in its document (page for PDFs)
    end: int
    score: float


@dataclass(frozen=True)
class Citation:
    """A source the answer cites as [n]."""

    n: int
    source: str
    text: str
    page: int | None
    score: float
    title: str = ""
    quote: str = ""  # the supporting sentence(s) within `text`, joined
    sentences: tuple[str, ...] = ()  # the same sentences one by one, for highlighting
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    question: str = ""
    standalone_question: str = ""  # the question actually searched (follow-ups rewritten)
    sources: list[Source] = field(default_factory=list)
    # What the abstention decision saw (evidence similarity, P(refusal), ...), for eval.
    signals: dict[str, float] = field(default_factory=dict)
    draft: str = ""  # the model's own reply, before citations were checked
    # Seconds per stage of this answer (rag/timing.py names them), for benchmarks.
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The `rag ask --json` shape."""
        return {
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [
                {"n": c.n, "source": c.source, "text": c.text, "page": c.page, "score": c.score}
                for c in self.citations
            ],
        }


@dataclass(frozen=True)
class Retrieved:
    """The passages an answer will be written from, known before the model starts.

    `Engine.stream_events` yields it first, so a chat can show the sources while the
    answer is still being prefilled and written.
    """

    question: str
    searched: str  # the question actually searched (follow-ups rewritten)
    sources: list[Source]


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the LLM produces it (streaming)."""

    text: str
