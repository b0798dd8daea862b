"""HTML for answers and sources. Everything from documents or the model is escaped here.

Document text is data: it is escaped before it is wrapped in our own markup, so a
document holding <script>, HTML or javascript: links shows as text and runs nothing.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from rag import Answer

_MARKER = re.compile(r"\[(\d+)\]")


def _esc(text: str) -> str:
    # Blank lines would end the HTML block and let the chat's Markdown renderer in again.
    return escape(text, quote=True).replace("\n", "<br>")


def highlight(passage: str, sentences: tuple[str, ...] | list[str]) -> str:
    """The passage, escaped, with the given sentences wrapped in <mark>."""
    spans = []
    for sentence in sentences:
        at = passage.find(sentence)
        if at >= 0 and sentence:
            spans.append((at, at + len(sentence)))
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(_esc(passage[pos:start]))
        out.append(f"<mark>{_esc(passage[start:end])}</mark>")
        pos = end
    out.append(_esc(passage[pos:]))
    return "".join(out)


def _where(source: str, page: int | None) -> str:
    name = escape(Path(source).name)
    return f"{name} · page {page}" if page is not None else name


def answer_html(answer: Answer) -> str:
    """The chat message: answer with clickable [n], what was searched, the cited passages."""
    by_n = {c.n: c for c in answer.citations}

    def cite(match: re.Match[str]) -> str:
        n = int(match.group(1))
        c = by_n.get(n)
        if c is None:
            return match.group(0)
        tip = escape(f"{Path(c.source).name}: {c.quote or c.text}"[:300], quote=True)
        # Gradio's sanitizer drops data-* attributes, so the number travels in href and class.
        return f'<a class="rag-cite rag-cite-{n}" href="#rag-src-{n}" title="{tip}">[{n}]</a>'

    body = _MARKER.sub(cite, _esc(answer.text))
    parts = [f'<div class="rag-answer">{body}</div>']
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(
            f'<div class="rag-searched">Searched: {_esc(answer.standalone_question)}</div>'
        )
    if answer.citations:
        cards = [
            f'<details class="rag-card rag-card-{c.n}"><summary>[{c.n}] '
            f"{_where(c.source, c.page)}</summary>"
            f'<blockquote class="rag-passage">{highlight(c.text, c.sentences or [c.quote])}'
            "</blockquote></details>"
            for c in answer.citations
        ]
        parts.append(f'<div class="rag-citations">{"".join(cards)}</div>')
    return "".join(parts)


def streaming_html(partial: str) -> str:
    return f'<div class="rag-answer">{_esc(partial)}▍</div>'


def sources_html(answer: Answer | None) -> str:
    """The side panel: every passage the model was shown, cited ones marked."""
    if answer is None or not answer.sources:
        return '<div class="rag-sources-empty">Sources of the latest answer appear here.</div>'
    cited = {(c.source, c.start, c.page): c.n for c in answer.citations}
    cards = []
    for s in answer.sources:
        n = cited.get((s.source, s.start, s.page))
        badge = f'<span class="rag-badge">cited as [{n}]</span>' if n else ""
        cards.append(
            f'<div class="rag-source" id="rag-src-{n or "x" + str(s.n)}">'
            f'<div class="rag-source-head">{_where(s.source, s.page)} {badge}'
            f'<span class="rag-score">similarity {s.score:.2f}</span></div>'
            f'<div class="rag-passage">{highlight(s.text, s.evidence)}</div></div>'
        )
    return "".join(cards)


def status_markdown(documents: int, chunks: int, embed_model: str, llm: str) -> str:
    return (
        f"**{documents}** documents · **{chunks}** chunks · embeddings: `{escape(embed_model)}`"
        f" · LLM: `{escape(llm)}`"
    )
