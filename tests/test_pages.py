"""Cited PDF pages: rendered with pypdfium2, the cited sentence highlighted where it is printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from index.load import load_file
from rag import Answer, Citation
from ui.chat import Conversations, Session
from ui.pages import is_pdf_page, render_page

FACT = (
    "The repair of the eastern pillar cost 2.4 million euro and was finished in October, "
    "two months later than the foundation had planned."
)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    style = getSampleStyleSheet()["Normal"]
    SimpleDocTemplate(str(path), pagesize=A4).build(
        [
            Paragraph("The first page is about the board. " * 20, style),
            PageBreak(),
            *[Paragraph("The board approved the accounts of the year. " * 6, style)] * 6,
            Paragraph(f"In 2024 the pillar was repaired. {FACT} Visitors came back.", style),
            *[Paragraph("Volunteers guided school classes. " * 8, style)] * 6,
        ]
    )
    return path


def _yellow(image: Image.Image) -> int:
    pixels = image.convert("RGB").get_flattened_data()
    return sum(1 for r, g, b in pixels if r > 200 and g > 180 and b < 160)


def test_the_sentence_the_indexer_cited_is_found_and_highlighted(pdf: Path) -> None:
    # The sentence as the indexer read it (pypdf, line breaks joined), not as PDFium prints it.
    page_two = next(d for d in load_file(pdf) if d.metadata.get("page") == 2)
    assert "2.4 million euro" in page_two.text
    shown = render_page(pdf, 2, (FACT,))
    assert shown.found == 1 and shown.wanted == 1
    assert _yellow(shown.image) > 3000 and _yellow(render_page(pdf, 1, (FACT,)).image) == 0
    # The cited part: margins trimmed, a band around the sentence, wider than tall.
    assert shown.cited.width < shown.image.width and shown.cited.height < shown.cited.width
    assert _yellow(shown.cited) == _yellow(shown.image)


def test_a_sentence_with_other_spacing_and_hyphens_still_matches(pdf: Path) -> None:
    mangled = FACT.replace("eastern pillar", "east-\nern  pil lar").replace("2.4", "2.4 ")
    assert render_page(pdf, 2, (mangled,)).found == 1
    assert render_page(pdf, 2, ("Nothing like this is printed anywhere.",)).found == 0


def test_pages_are_cached_until_the_file_changes(pdf: Path, tmp_path: Path) -> None:
    cold = render_page(pdf, 2, (FACT, "Visitors came back."))
    warm = render_page(pdf, 2, (FACT, "Visitors came back."))
    print(f"\npage render: {cold.seconds * 1000:.0f} ms cold, {warm.seconds * 1000:.2f} ms cached")
    assert warm.image is cold.image and warm.seconds < 0.01
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(pdf.read_bytes())
    first = render_page(copy, 2, (FACT,))
    copy.write_bytes(pdf.read_bytes() + b"\n%")  # a changed file is rendered again
    assert render_page(copy, 2, (FACT,)).image is not first.image


def test_a_page_past_the_end_is_an_error_and_only_pdfs_get_pages(pdf: Path) -> None:
    with pytest.raises(IndexError, match="page 9 is not in this PDF"):
        render_page(pdf, 9, (FACT,))
    assert is_pdf_page("/d/Report.PDF", 3)
    assert not is_pdf_page("/d/notes.txt", None) and not is_pdf_page("/d/r.pdf", None)


def _session(source: str, page: int | None) -> Session:
    citation = Citation(1, source, FACT, page, 0.9, quote=FACT, sentences=(FACT,))
    return Session("c", [Answer("It cost 2.4 million euro [1].", [citation])], [()])


def test_the_chat_shows_the_page_for_a_pdf_and_the_text_view_otherwise(pdf: Path) -> None:
    chat = Conversations.__new__(Conversations)
    image, caption, shown, buttons = chat.page("0:1", _session(str(pdf), 2))
    assert "rag-source" in shown
    assert image["visible"] and image["value"].height < image["value"].width
    assert "report.pdf · page 2 (the cited part)" in caption and "marked" in caption
    whole, caption, _, _ = chat.page("0:1", _session(str(pdf), 2), whole=True)
    assert whole["value"].height > whole["value"].width and "cited part" not in caption
    hidden, caption, _, buttons = chat.page("0:1", _session("/d/notes.txt", None))
    assert hidden["visible"] is False and caption == "" and buttons["visible"] is False
    gone, caption, _, _ = chat.page("0:1", _session(str(pdf.parent / "gone.pdf"), 2))
    assert gone["visible"] is False and "page image unavailable" in caption
    stray, *_ = chat.page("7:1", _session(str(pdf), 2))  # an answer this tab does not hold
    assert stray["visible"] is False


def test_a_page_number_that_labels_two_pages_finds_the_one_with_the_sentence(
    tmp_path: Path,
) -> None:
    # Front matter labelled i, ii, then the body from 1: the indexer calls the first front
    # page "1" (by position: its label is no number) and so is the first body page (label).
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    plain, labelled = tmp_path / "plain.pdf", tmp_path / "labelled.pdf"
    style = getSampleStyleSheet()["Normal"]
    texts = [
        "The preface thanks the volunteers of the Zorblat foundation warmly.",
        "The contents list every chapter of this annual report.",
        "The eastern pillar repair cost 2.4 million euro in the end.",
        "The western pillar needs new paint before the next winter.",
    ]
    story = [x for t in texts for x in (Paragraph(t, style), PageBreak())][:-1]
    SimpleDocTemplate(str(plain), pagesize=A4).build(story)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.set_page_label(0, 1, style="/r")
    writer.set_page_label(2, 3, style="/D")
    writer.write(labelled)
    pages_read = [d.metadata["page"] for d in load_file(labelled)]
    assert pages_read == [1, 2, 1, 2]
    assert render_page(labelled, 1, (texts[0],)).found == 1  # the preface, by position
    assert render_page(labelled, 1, (texts[2],)).found == 1  # body page 1, by label
    assert render_page(labelled, 2, (texts[3],)).found == 1
