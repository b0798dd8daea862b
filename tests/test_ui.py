"""The chat's pure parts: safe file names, escaping, highlighting, refusing open hosts."""

from __future__ import annotations

import pytest

from index import SettingsError
from rag import Answer, Citation, Source
from ui import render
from ui.app import launch_options, safe_name
from ui.settings import UISettings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("..", "upload"),
        (".bashrc", "bashrc"),
        ("<b>x</b>.txt", "b_.txt"),
        ("<i>x<i>.txt", "_i_x_i_.txt"),
        ("notes 2025.md", "notes 2025.md"),
    ],
)
def test_uploaded_names_cannot_escape_the_upload_folder(raw: str, expected: str) -> None:
    assert safe_name(raw) == expected


def _answer(passage: str, text: str = "It says so [1].") -> Answer:
    sentence = passage.split(". ")[0]
    citation = Citation(
        n=1,
        source="/d/<img src=x onerror=alert(1)>.txt",
        text=passage,
        page=None,
        score=0.9,
        quote=sentence,
        sentences=(sentence,),
    )
    source = Source(
        n=1,
        source=citation.source,
        title="t",
        page=None,
        text=passage,
        evidence=(sentence,),
        start=0,
        end=len(passage),
        score=0.9,
    )
    return Answer(text, [citation], False, "q", "q", [source])


def test_document_html_is_shown_as_text() -> None:
    passage = (
        "<script>alert('x')</script> and [click](javascript:alert(1)). <img src=x onerror=alert(2)>"
    )
    html = render.answer_html(_answer(passage, "See <b>this</b> [1]."))
    side = render.sources_html(_answer(passage))
    for out in (html, side):
        assert "<script>" not in out and "<img" not in out
        assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "<b>this</b>" not in html and "&lt;b&gt;this&lt;/b&gt;" in html
    assert 'href="javascript' not in html


def test_cited_sentence_is_highlighted_and_marker_is_a_link() -> None:
    html = render.answer_html(_answer("Baykar kocht Piaggio. Daarna iets anders."))
    assert "<mark>Baykar kocht Piaggio</mark>" in html
    assert 'class="rag-cite rag-cite-1" href="#rag-src-1"' in html
    assert "rag-card rag-card-1" in html


def test_markers_without_a_citation_stay_plain_text() -> None:
    html = render.answer_html(_answer("A. B.", "Claim [1] and [7]."))
    assert "rag-cite-1" in html and "rag-cite-7" not in html and "[7]" in html


def test_other_hosts_need_a_password() -> None:
    with pytest.raises(SettingsError, match="RAG_UI_PASSWORD"):
        launch_options(UISettings(), "0.0.0.0", 7860)
    assert "auth" not in launch_options(UISettings(), "127.0.0.1", 7860)
    protected = launch_options(UISettings(ui_password="s3cret"), "0.0.0.0", 7860)
    assert protected["auth"] == [("rag", "s3cret")]
    several = UISettings(ui_users={"ana": "a-pw", "ben": "b-pw"}, ui_password="s3cret")
    assert launch_options(several, "0.0.0.0", 7860)["auth"] == [
        ("ana", "a-pw"),
        ("ben", "b-pw"),
        ("rag", "s3cret"),
    ]


def test_more_logins_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_UI_USERS", '{"ana": "a-pw"}')
    assert UISettings().logins() == [("ana", "a-pw")]
