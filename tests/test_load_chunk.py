from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from index import DocumentError, MissingPathError
from index.chunk import chunk
from index.load import find_files, load_file


def _pdf(path: Path, pages: list[str]) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for text in pages:
        c.drawString(72, 720, text)
        c.showPage()
    c.save()
    return path


def test_reads_every_supported_type(tmp_path: Path) -> None:
    import docx

    (tmp_path / "a.txt").write_text("Plain text about tulips.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Title\n\nMarkdown about windmills.", encoding="utf-8")
    (tmp_path / "c.html").write_text(
        "<html><head><script>alert('x')</script><style>p{}</style></head>"
        "<body><p>HTML about canals.</p></body></html>",
        encoding="utf-8",
    )
    d = docx.Document()
    d.add_paragraph("Word document about cheese.")
    d.save(str(tmp_path / "d.docx"))
    _pdf(tmp_path / "e.pdf", ["First page about bikes.", "Second page about dykes."])

    texts = {p.name: load_file(p) for p in find_files([tmp_path])[0]}

    assert "tulips" in texts["a.txt"][0].text
    assert "windmills" in texts["b.md"][0].text
    html = texts["c.html"][0].text
    assert "canals" in html and "alert" not in html and "p{}" not in html
    assert "cheese" in texts["d.docx"][0].text
    pdf = texts["e.pdf"]
    assert [d.metadata["page"] for d in pdf] == [1, 2]
    assert "dykes" in pdf[1].text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "no text"),
        ("binary.txt", b"\x00\x01\x02PNG\x00" * 20, "binary"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ],
)
def test_bad_files_raise_a_document_error_naming_the_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError) as err:
        load_file(path)
    assert reason in err.value.reason
    assert str(path) in str(err.value)


def test_folders_expand_and_unsupported_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.txt").write_text("x", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.txt").write_text("secret", encoding="utf-8")
    files, skipped = find_files([tmp_path, tmp_path / "image.png"])
    assert [f.name for f in files] == ["x.txt"]
    assert skipped and "unsupported" in skipped[0][1]


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingPathError, match="no such file"):
        find_files([tmp_path / "nope"])


def test_chunks_overlap_and_point_back_into_the_text(tmp_path: Path) -> None:
    sentences = [
        f"Sentence number {i} talks about topic {i % 7} at some length here." for i in range(60)
    ]
    path = tmp_path / "long.txt"
    path.write_text(" ".join(sentences), encoding="utf-8")
    docs = load_file(path)
    chunks = chunk(docs, "f" * 64, chunk_size=40, chunk_overlap=10)

    assert len(chunks) > 5
    text = docs[0].text
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.source == str(path) and c.title == "long.txt" and c.page is None
    # Overlap: consecutive chunks share text, and together they cover the document.
    assert all(a.end > b.start for a, b in itertools.pairwise(chunks))
    assert chunks[0].start == 0 and chunks[-1].end >= len(text.rstrip())
    assert len({c.id for c in chunks}) == len(chunks)


def test_pdf_chunks_keep_their_page(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "p.pdf", ["Alpha page text.", "Beta page text.", "Gamma page."])
    chunks = chunk(load_file(path), "a" * 64, chunk_size=40, chunk_overlap=10)
    assert [(c.page, c.text.split()[0]) for c in chunks] == [
        (1, "Alpha"),
        (2, "Beta"),
        (3, "Gamma"),
    ]


def test_hard_wrapped_lines_are_one_sentence_but_lists_and_headings_are_not() -> None:
    from index.chunk import split_sentences

    text = (
        "FAQ\n\n"
        "For example, compressing a file 20,000 bytes long with the flag -9 will cause\n"
        "the compressor to allocate around 7600k of memory.\nThen it stops.\n"
        "- first item of a list\n- second item\n"
        "-9 7600k 3700k\n-8 6700k 3300k"
    )
    sentences = [s.text for s in split_sentences(text)]
    assert sentences[0] == "FAQ"
    assert sentences[1].startswith("For example") and sentences[1].endswith("7600k of memory.")
    assert "- first item of a list" in sentences and "- second item" in sentences
    assert "-9 7600k 3700k" in sentences  # table rows stay rows
    # Offsets still point into the text, line breaks included, for highlighting.
    s = split_sentences(text)[1]
    assert text[s.start : s.end] == s.text


def test_html_inline_elements_stay_inside_their_sentence(tmp_path: Path) -> None:
    page = tmp_path / "groups.html"
    page.write_text(
        "<html><body><dl><dt>proxy</dt><dd>For example, <code>squid</code>\n  runs as user"
        " <b>proxy</b>.</dd></dl><p>Next   paragraph.</p><pre>keep\n  this</pre></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_file(page)
    assert "For example, squid runs as user proxy." in doc.text
    assert "proxy\n\nFor example" in doc.text and "Next paragraph." in doc.text
    assert "keep\n  this" in doc.text


def test_html_comments_and_the_doctype_are_not_text(tmp_path: Path) -> None:
    # As a Texinfo manual page opens: a doctype, a generator note, a licence in a comment.
    page = tmp_path / "closures.html"
    page.write_text(
        '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
        "<html><!-- Created by GNU Texinfo 6.8 --><head><title>Closures</title>"
        "<!-- Permission is hereby granted, free of charge --></head>"
        "<body><p>Closures are not <!-- (yet) --> supported everywhere.</p>"
        "<pre>int x; <!-- hidden --></pre></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_file(page)
    assert "Closures are not supported everywhere." in doc.text
    for markup in ("DOCTYPE", "W3C", "Texinfo", "Permission", "(yet)", "hidden"):
        assert markup not in doc.text


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.skipif(not DEJAVU.is_file(), reason="needs a font with ligature glyphs")
def test_pdf_ligatures_are_read_as_letters(tmp_path: Path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("DejaVu", str(DEJAVU)))
    path = tmp_path / "lig.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("DejaVu", 12)
    pdf.drawString(72, 720, "The ﬁle is ﬂushed.")
    pdf.save()
    (doc,) = load_file(path)
    assert "The file is flushed." in doc.text
