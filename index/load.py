"""Reading files into llama-index Documents: text, Markdown, PDF (per page), HTML, DOCX."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from llama_index.core import Document

from index.errors import DocumentError, MissingPathError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | {".pdf", ".html", ".htm", ".docx"}


# Bumped when a reader starts turning the same bytes into different text, so that files a
# store read the old way are read again (`rag index` compares this digest with the stored
# one). HTML 2: comments and the doctype are no longer read as text.
READER_VERSIONS = {".html": "2", ".htm": "2"}


def file_hash(path: Path) -> str:
    """The file's SHA-256, with its reader's version mixed in where it has one."""
    digest = hashlib.sha256()
    version = READER_VERSIONS.get(path.suffix.lower())
    if version:
        digest.update(f"reader {version}\0".encode())
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders into supported files; return (files, skipped-with-reason)."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise MissingPathError(f"{raw}: no such file or folder. Check the path and try again.")
        if path.is_dir():
            files.extend(
                child.resolve()
                for child in sorted(path.rglob("*"))
                if child.is_file()
                and not child.name.startswith(".")
                and child.suffix.lower() in SUPPORTED_SUFFIXES
            )
        elif path.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(path.resolve())
        else:
            skipped.append(
                (
                    path,
                    f"unsupported file type {path.suffix or '(none)'}; "
                    f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
                )
            )
    return sorted(set(files)), skipped


def _read_text(path: Path) -> str:
    # Read by hand rather than with SimpleDirectoryReader: it decodes with errors="ignore",
    # which would silently index garbage from binary or mis-encoded files.
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise DocumentError(str(path), "looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            str(path), f"is not valid UTF-8 (bad byte at offset {exc.start}); save it as UTF-8"
        ) from exc


def _read_pdf(path: Path) -> list[tuple[str, int | None]]:
    from llama_index.readers.file import PDFReader

    try:
        docs = PDFReader(return_full_document=False).load_data(path)
    except Exception as exc:
        raise DocumentError(
            str(path), f"cannot be read as PDF ({type(exc).__name__}: {exc})"
        ) from exc
    pages: list[tuple[str, int | None]] = []
    for i, doc in enumerate(docs):
        label = doc.metadata.get("page_label")
        page = int(str(label)) if str(label).isdigit() else i + 1
        # NFKC: PDF text comes with typographic ligatures ("ﬁle" for "file") that no
        # question or keyword search would match.
        pages.append((unicodedata.normalize("NFKC", doc.text), page))
    return pages


# Elements that start a new line; everything else (<a>, <code>, <b>, ...) is inline, so
# "<code>squid</code> runs as user proxy" stays one sentence.
_BLOCKS = [
    *("address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt"),
    *("figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header"),
    *("hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th"),
    *("tr", "ul"),
]


def _read_html(path: Path) -> str:
    from bs4 import BeautifulSoup, Comment, Declaration, Doctype, ProcessingInstruction

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    # Comments (a Texinfo page's licence header, generator notes) and the doctype are markup,
    # not text; left in, they became a document's first passage and reached the prompt.
    for node in soup.find_all(
        string=lambda s: isinstance(s, (Comment, Declaration, Doctype, ProcessingInstruction))
    ):
        node.extract()
    soup.smooth()  # the text either side of a comment is one string again
    for node in soup.find_all(string=True):
        if node.find_parent("pre") is None:  # source layout is not text layout, except in <pre>
            node.replace_with(re.sub(r"\s+", " ", str(node)))
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = re.sub(r"\n (?=\S)", "\n", re.sub(r"[ \t]+\n", "\n", soup.get_text()))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _read_docx(path: Path) -> str:
    from llama_index.readers.file import DocxReader

    try:
        docs = DocxReader().load_data(path)
    except Exception as exc:
        raise DocumentError(
            str(path), f"cannot be read as DOCX ({type(exc).__name__}: {exc})"
        ) from exc
    return "\n".join(d.text for d in docs)


def load_file(path: Path) -> list[Document]:
    """The file's text as Documents (one per PDF page), or DocumentError saying why not."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            pages = _read_pdf(path)
        elif suffix in (".html", ".htm"):
            pages = [(_read_html(path), None)]
        elif suffix == ".docx":
            pages = [(_read_docx(path), None)]
        elif suffix in TEXT_SUFFIXES:
            pages = [(_read_text(path), None)]
        else:
            raise DocumentError(str(path), f"unsupported file type {suffix or '(none)'}")
    except OSError as exc:
        raise DocumentError(str(path), f"cannot be read ({exc.strerror or exc})") from exc
    docs = [
        Document(
            text=text,
            metadata={
                "source": str(path),
                "title": path.name,
                **({"page": page} if page is not None else {}),
            },
        )
        for text, page in pages
        if text.strip()
    ]
    if not docs:
        raise DocumentError(str(path), "has no text to index (empty, or a scanned PDF?)")
    return docs
