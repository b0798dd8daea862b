"""HTML for answers and sources. Everything from documents or the model is escaped here.

Document text is data: it is escaped before it is wrapped in our own markup, so a
document holding <script>, HTML or javascript: links shows as text and runs nothing.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from html import escape
from pathlib import Path

from rag import Answer, Citation, Source, Sync

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


def scope_names(scope: Sequence[str]) -> str:
    """The documents and folders a question was limited to, by name (plain text)."""
    return ", ".join(Path(s).name + ("/" if s.endswith(("/", os.sep)) else "") for s in scope)


def answer_html(answer: Answer, turn: int | None = None, scope: Sequence[str] = ()) -> str:
    """The chat message: answer with clickable [n], what was searched, the cited passages.

    `turn` (the answer's place in the conversation) lets a click on [n] ask for that
    answer's page image; `scope` is what the question was limited to.
    """
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
    where = f" rag-turn-{turn}" if turn is not None else ""
    parts = [f'<div class="rag-answer{where}">{body}</div>']
    if scope:
        parts.append(f'<div class="rag-scope-note">Within: {_esc(scope_names(scope))}</div>')
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


def error_html(message: str) -> str:
    return f'<div class="rag-error">{_esc(message)}</div>'


def conversation_label(title: str, when: float, turns: int) -> str:
    """A conversation in the list (plain text: Gradio shows labels as text)."""
    day = time.strftime("%d %b %Y, %H:%M", time.localtime(when))
    return f"{title} · {day} · {turns} question{'s' if turns != 1 else ''}"


def file_stem(title: str) -> str:
    """A download's file name from a conversation's title."""
    stem = re.sub(r"[^\w\- ]+", "", title, flags=re.UNICODE).strip()[:60].strip()
    return stem or "conversation"


def streaming_html(partial: str) -> str:
    return f'<div class="rag-answer">{_esc(partial)}▍</div>'


def sources_html(answer: Answer | None, turn: int | None = None) -> str:
    """The side panel: every passage the model was shown, cited ones marked."""
    if answer is None or not answer.sources:
        return '<div class="rag-sources-empty">Sources of the latest answer appear here.</div>'
    return passages_html(answer.sources, answer.citations, turn)


def retrieved_html(sources: list[Source], turn: int | None = None) -> str:
    """The side panel while the answer is still being written: the passages found, their
    best sentences marked (shown as soon as retrieval is done, before the model reads them)."""
    if not sources:
        return '<div class="rag-sources-empty">No passage matches this question.</div>'
    return passages_html(sources, [], turn, reading=True)


def passages_html(
    sources: list[Source],
    citations: Sequence[Citation] = (),
    turn: int | None = None,
    reading: bool = False,
) -> str:
    cited = {(c.source, c.start, c.page): c.n for c in citations}
    state = "rag-sources-reading" if reading else "rag-sources-final"
    tag = f" rag-sources-turn-{turn}" if turn is not None else ""
    cards = []
    for s in sources:
        n = cited.get((s.source, s.start, s.page))
        badge = f'<span class="rag-badge">cited as [{n}]</span>' if n else ""
        cards.append(
            f'<div class="rag-source" id="rag-src-{n or "x" + str(s.n)}">'
            f'<div class="rag-source-head">{_where(s.source, s.page)} {badge}'
            f'<span class="rag-score">similarity {s.score:.2f}</span></div>'
            f'<div class="rag-passage">{highlight(s.text, s.evidence)}</div></div>'
        )
    note = (
        '<div class="rag-reading-note">Found these passages; the answer is being written.</div>'
        if reading
        else ""
    )
    return f'<div class="rag-sources {state}{tag}">{note}{"".join(cards)}</div>'


def status_markdown(documents: int, chunks: int, embed_model: str, llm: str) -> str:
    return (
        f"**{documents}** documents · **{chunks}** chunks · embeddings: `{escape(embed_model)}`"
        f" · LLM: `{escape(llm)}`"
    )


def readiness_markdown(warming: str, error: str) -> str:
    """The status line's last part: what the warm-up is doing, or that the chat is ready."""
    if warming:
        return f" · warming up: {escape(warming)}…"
    if error:
        return f" · **not ready**: {escape(error)}"
    return " · ready"


def page_caption_html(citation: Citation, found: int, wanted: int, whole: bool = False) -> str:
    """The line above a cited PDF page image."""
    head = f"[{citation.n}] {_where(citation.source, citation.page)}"
    head += "" if whole else " (the cited part)"
    if wanted and not found:
        note = " · the cited sentence was not found on this page (has the file changed?)"
    elif found < wanted:
        note = f" · {found} of {wanted} cited sentences marked"
    else:
        note = " · cited sentences marked"
    return f'<div class="rag-page-caption">{head}{escape(note)}</div>'


def page_missing_html(citation: Citation, reason: str) -> str:
    return (
        f'<div class="rag-page-caption">[{citation.n}] {_where(citation.source, citation.page)}'
        f" · page image unavailable: {_esc(reason)}</div>"
    )


# --- Markdown export ----------------------------------------------------------------------
_MD_ACTIVE = re.compile(r"([\\`*_{}\[\]<>#|])")


def _md(text: str) -> str:
    """Document or model text as inert Markdown: no links, images, HTML or headings."""
    return _MD_ACTIVE.sub(r"\\\1", " ".join(text.split()))


def _md_answer(text: str) -> str:
    # Keep the [n] markers readable: escape everything else, then restore them.
    return re.sub(r"\\\[(\d+)\\\]", r"[\1]", _md(text))


def conversation_markdown(
    title: str, created: float, turns: Sequence[tuple[Answer, Sequence[str]]]
) -> str:
    """A conversation as Markdown: each question, its answer, and its numbered sources."""
    day = time.strftime("%Y-%m-%d %H:%M", time.localtime(created))
    lines = [f"# {_md(title)}", "", f"{len(turns)} question(s), started {day}.", ""]
    for i, (answer, scope) in enumerate(turns, start=1):
        lines += [f"## {i}. {_md(answer.question)}", "", _md_answer(answer.text), ""]
        if answer.standalone_question and answer.standalone_question != answer.question:
            lines += [f"*Searched as:* {_md(answer.standalone_question)}", ""]
        if scope:
            lines += [f"*Within:* {_md(scope_names(scope))}", ""]
        if answer.citations:
            lines += ["Sources:", ""]
            for c in answer.citations:
                page = f", page {c.page}" if c.page is not None else ""
                quote = c.quote or c.text
                lines.append(
                    f"{c.n}. {_md(Path(c.source).name)}{page} (`{c.source.replace('`', '')}`)"
                )
                lines.append(f"   > {_md(quote)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def watch_markdown(folders: Sequence[str], last: Sync | None, error: str) -> str:
    """The status line's part about the folder watch."""
    names = ", ".join(f"`{escape(Path(f).name)}/`" for f in folders)
    if error:
        return f" · watch stopped: {escape(error)}"
    if last is None:
        return f" · watching {names}: indexing…"
    r = last.report
    changes = f"{len(r.added)} added, {len(r.updated)} updated, {len(r.removed)} removed"
    failed = f", **{len(r.failed)} failed**" if r.failed else ""
    clock = time.strftime("%H:%M:%S", time.localtime(last.finished))
    return f" · watching {names} · last sync {clock}: {changes}{failed}"
