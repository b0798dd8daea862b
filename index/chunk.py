"""Sentence-aware chunking with overlap; every chunk keeps where it came from."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

_WORD = re.compile(r"\S+")
# A sentence ends at . ! ? (optionally followed by a quote or bracket) before whitespace,
# or at a line break (headings, list items, table rows).
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n\s*")
# A line break inside a paragraph of hard-wrapped prose (text files, PDF lines) is not a
# sentence end: the line before it is long and unfinished, and the next is no list item.
_WRAPPED_LINE = 30  # characters: shorter lines are headings, table rows or list entries
_LONGEST = 600  # characters: a "sentence" joined across this many is not prose any more
_LIST_ITEM = re.compile(r"[-*•·–+]\s|\d{1,3}[.)]\s|[a-z][.)]\s|\|")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset within the text it was split from
    end: int


def _soft_break(text: str, match: re.Match[str], start: int) -> bool:
    """Whether a line break at `match` continues the sentence begun at `start`."""
    gap = match.group(0)
    if gap.count("\n") != 1 or gap[0] != "\n":
        return False  # a blank line
    if text[: match.start()].rstrip("\"'”’)]")[-1:] in (".", "!", "?", "…"):
        return False  # the sentence ended before the break
    line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()].strip()
    if len(line) < _WRAPPED_LINE or line.endswith((":", ";")):
        return False
    if match.start() - start > _LONGEST:
        return False
    return not _LIST_ITEM.match(text, match.end())


def split_sentences(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    pos = 0
    for match in [*_BOUNDARY.finditer(text), None]:
        if match is not None and _soft_break(text, match, pos):
            continue
        end = match.start() if match else len(text)
        raw = text[pos:end]
        stripped = raw.strip()
        if len(stripped) > 1:
            lead = len(raw) - len(raw.lstrip())
            out.append(Sentence(stripped, pos + lead, pos + lead + len(stripped)))
        if match:
            pos = match.end()
    return out


def plain(text: str) -> str:
    """Text with its line breaks and runs of spaces as single spaces (for prompts)."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Chunk:
    """One embedded unit of a document, with its position in the original text."""

    id: str
    text: str
    source: str
    title: str
    page: int | None
    start: int
    end: int
    file_hash: str
    # (start, end) of each sentence within `text`, found once when the chunk is made and
    # stored with it, so answering never re-splits passages. Empty for chunks stored before
    # spans were kept; `sentences()` splits those itself.
    spans: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    def sentences(self) -> list[Sentence]:
        """The chunk's sentences, from its stored spans (offsets into `text`).

        Spans stay valid when screening blanks part of the text (rag/guard.py keeps every
        offset), so a sentence blanked entirely is left out here.
        """
        if not self.spans:
            return split_sentences(self.text)
        out = []
        for start, end in self.spans:
            raw = self.text[start:end]
            stripped = raw.strip()
            if len(stripped) > 1:
                lead = len(raw) - len(raw.lstrip())
                out.append(Sentence(stripped, start + lead, start + lead + len(stripped)))
        return out

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for Chroma (no None values allowed there)."""
        return {
            "source": self.source,
            "title": self.title,
            "page": self.page if self.page is not None else -1,
            "start": self.start,
            "end": self.end,
            "file_hash": self.file_hash,
            "sentences": encode_spans(self.spans),
        }


def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((s.start, s.end) for s in split_sentences(text))


def encode_spans(spans: tuple[tuple[int, int], ...]) -> str:
    """Spans as Chroma metadata (scalars only): "0-41 42-97"."""
    return " ".join(f"{a}-{b}" for a, b in spans)


def decode_spans(value: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, str) or not value:
        return ()
    out = []
    for pair in value.split():
        a, _, b = pair.partition("-")
        out.append((int(a), int(b)))
    return tuple(out)


def _words(text: str) -> list[str]:
    # Whitespace words stand in for tokens: llama-index's default tokenizer (tiktoken)
    # downloads its vocabulary on first use, which fails offline.
    return _WORD.findall(text)


def make_splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        tokenizer=_words,
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk(
    documents: list[Document], file_hash: str, chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    """Split one file's documents (one per page for PDFs) into overlapping chunks."""
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    # Ids depend on path and content: identical copies at two paths stay two sets of chunks,
    # and a changed file's new chunks never overwrite the old ones mid-swap.
    prefix = ""
    for doc in documents:
        text = doc.text
        for start, end in _with_sentence_overlap(text, _spans(splitter, doc)):
            body = text[start:end]
            page = doc.metadata.get("page")
            source = str(doc.metadata["source"])
            prefix = prefix or hashlib.sha1(source.encode()).hexdigest()[:12]
            chunks.append(
                Chunk(
                    id=f"{prefix}-{file_hash[:16]}-{len(chunks):05d}",
                    text=body,
                    source=source,
                    title=str(doc.metadata.get("title", "")),
                    page=int(page) if page is not None else None,
                    start=start,
                    end=end,
                    file_hash=file_hash,
                    spans=sentence_spans(body),
                )
            )
    return chunks


def _spans(splitter: SentenceSplitter, doc: Document) -> list[tuple[int, int]]:
    """(start, end) of each chunk in the document text."""
    text, cursor, spans = doc.text, 0, []
    for node in splitter.get_nodes_from_documents([doc]):
        body = node.get_content()
        if not body.strip():
            continue
        start = getattr(node, "start_char_idx", None)
        if start is None or text[start : start + len(body)] != body:
            found = text.find(body, max(0, cursor - len(body)))
            start = found if found >= 0 else cursor
        cursor = start + len(body)
        spans.append((start, start + len(body)))
    return spans


def _with_sentence_overlap(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Make each chunk start with the last sentence of the one before.

    SentenceSplitter only overlaps whole sentences that fit in `chunk_overlap`; long
    sentences (common in news and legal text) would leave no overlap at all.
    """
    out = spans[:1]
    for (prev_start, prev_end), (start, end) in itertools.pairwise(spans):
        if start >= prev_end:
            sentences = split_sentences(text[prev_start:prev_end])
            if len(sentences) > 1:
                start = prev_start + sentences[-1].start
        out.append((start, end))
    return out
