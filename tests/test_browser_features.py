"""Scoped questions, kept conversations, PDF pages, folder watch and export, in a real browser.

A real `rag ui --watch LIBRARY` with a two-user login runs the packaged e5 embedder against
the scripted OpenAI-compatible server (tests/openai_server.py), so answers are instant and
deterministic while retrieval, the store, the page rendering and the watch are all real.
Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.openai_server import FakeOpenAIServer
from tests.servers import free_port, wait_until_up
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS

pytestmark = pytest.mark.browser
USERS = {"ana": "ana-pass", "ben": "ben-pass"}
# What the scripted model answers: the first of these found in the sources it is shown,
# cited with that source's number. A question nothing answers gets "I don't know".
ANSWERS = [
    re.compile(r"\d[\d.]* million euro"),
    re.compile(r"Fenna \w+"),
    re.compile(r"Piaggio Aerospace"),
    re.compile(r"in (?:January|March|October|November)"),
]
SEEN_TIMEOUT = 30_000


def reply(messages: list[dict[str, str]]) -> str:
    content = messages[-1]["content"]
    follow_up = re.search(r"Follow-up question: (.+)$", content)
    if follow_up:  # the rewrite step: the follow-up is already standalone enough
        return follow_up.group(1)
    lines = [ln for ln in content.splitlines() if re.match(r"\[\d+\] ", ln)]
    for pattern in ANSWERS:
        for line in lines:
            found = pattern.search(line)
            if found:
                return f"{found.group(0)} {line.split()[0]}."
    return "I don't know."


def _pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    style = getSampleStyleSheet()["Normal"]
    SimpleDocTemplate(str(path), pagesize=A4).build(
        [
            Paragraph("Annual report of the Zorblat bridge foundation, 2024. " * 6, style),
            PageBreak(),
            *[Paragraph("The board met four times and approved the accounts. " * 5, style)] * 8,
            Paragraph(
                "In 2024 the foundation repaired the eastern pillar of the bridge. The repair "
                "of the eastern pillar cost 2.4 million euro and was finished in October. "
                "Visitors returned in November to see the repainted railings.",
                style,
            ),
            *[Paragraph("Volunteers guided school classes across the bridge. " * 5, style)] * 8,
        ]
    )


class Chat:
    """One `rag ui` process that a test can restart, on the same store and port."""

    def __init__(self, home: Path, llm_url: str) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.library = home / "library"
        self.env = {
            **os.environ,
            "RAG_STORE_DIR": str(home / "store"),
            "RAG_UPLOAD_DIR": str(home / "uploads"),
            "RAG_LLM": "openai",
            "RAG_LLM_BASE_URL": llm_url,
            "RAG_LLM_MODEL": "tiny",
            "RAG_UI_USERS": json.dumps(USERS),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.home / "server.log").open("a")
        command = ["ui", "--port", str(self.port), "--watch", str(self.library)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", *command],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_up(self.url, self.proc, "rag ui", 180, self.home / "server.log")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    home = tmp_path_factory.mktemp("features")
    library = home / "library"
    (library / "notes").mkdir(parents=True)
    _pdf(library / "report.pdf")
    (library / "notes" / "pillars.txt").write_text(
        "The repair of the western pillar cost 1.1 million euro. It was finished in March.",
        encoding="utf-8",
    )
    (library / "notes" / "visitors.txt").write_text(
        "The bridge welcomed 12000 visitors in the summer after the works.", encoding="utf-8"
    )
    with FakeOpenAIServer(reply=reply) as llm:
        chat = Chat(home, llm.url)
        chat.start()
        yield chat
        chat.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run ./scripts/setup.sh --dev (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _login(browser, url: str, user: str = "ana"):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(USERS[user])
    page.get_by_role("button", name="Login").click()
    _ready(page)
    return page


def _ready(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#rag-question textarea", timeout=60_000)
    page.wait_for_function(
        "() => /[1-9]\\d* chunks/.test(document.querySelector('#rag-status')?.innerText || '')"
        " && /last sync/.test(document.querySelector('#rag-status').innerText)"
        # The conversation list is filled last, once the page has loaded.
        " && /kept|None yet/.test(document.querySelector('#rag-convs')?.innerText || '')",
        timeout=120_000,
    )


def _ask(page, question: str) -> str:  # type: ignore[no-untyped-def]
    """Ask and wait until the answer is complete and saved; return its text."""
    before = page.locator("#rag-chat .rag-answer").count()
    page.fill("#rag-question textarea", question)
    page.click("#rag-ask")
    page.wait_for_function(
        "n => { const a = [...document.querySelectorAll('#rag-chat .rag-answer')];"
        " return a.length > n && !a[a.length - 1].innerText.includes('▍'); }",
        arg=before,
        timeout=60_000,
    )
    # Saved (and the download up to date) once the chosen conversation counts this answer.
    page.wait_for_function(
        "n => { const c = document.querySelector('#rag-convs input:checked');"
        " const label = c && c.closest('label');"
        " return !!label && label.innerText.includes(` ${n} question`); }",
        arg=before + 1,
        timeout=SEEN_TIMEOUT,
    )
    return str(page.locator("#rag-chat .rag-answer").last.inner_text())


def _choose(page, element: str, option: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(f"{element} input").click()
    page.get_by_role("option", name=option).first.click()
    page.keyboard.press("Escape")


def _new_conversation(page) -> None:  # type: ignore[no-untyped-def]
    page.click("#rag-new")
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-answer')")


def test_a_question_within_one_document_cites_only_that_document(browser, server) -> None:  # type: ignore[no-untyped-def]
    page = _login(browser, server.url)
    _new_conversation(page)
    _choose(page, "#rag-scope", "pillars.txt")
    assert "pillars.txt" in page.locator("#rag-scope").inner_text()  # the choice is visible
    answer = _ask(page, "How much did the repair of the pillar cost?")
    assert "1.1 million euro" in answer
    summaries = page.locator("#rag-chat details.rag-card summary").all_inner_texts()
    assert summaries and all("pillars.txt" in s for s in summaries)
    assert "Within: pillars.txt" in page.locator("#rag-chat .rag-scope-note").last.inner_text()
    panel = page.locator("#rag-sources").inner_text()
    assert "report.pdf" not in panel and "visitors.txt" not in panel
    page.screenshot(path=str(SHOTS / "scoped-question.png"), full_page=True)

    # A folder works the same way; "All documents" clears the choice.
    page.click("#rag-scope-clear")
    page.wait_for_function(
        "() => !document.querySelector('#rag-scope').innerText.includes('pillars.txt')"
    )
    _choose(page, "#rag-scope", "notes/")
    answer = _ask(page, "How much did the repair of the eastern pillar cost?")
    summaries = page.locator("#rag-chat details.rag-card summary").all_inner_texts()
    assert all("report.pdf" not in s for s in summaries)
    page.click("#rag-scope-clear")
    page.context.close()


def test_a_pdf_citation_shows_its_page_with_the_sentence_highlighted(browser, server) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    page = _login(browser, server.url)
    _new_conversation(page)
    _choose(page, "#rag-scope", "report.pdf")
    assert "2.4 million euro" in _ask(page, "How much did the repair of the eastern pillar cost?")
    started = time.monotonic()
    page.locator("#rag-chat .rag-answer a.rag-cite").last.click()
    page.wait_for_selector("#rag-page img", timeout=SEEN_TIMEOUT)
    shown = time.monotonic() - started
    caption = page.locator("#rag-page-caption").inner_text()
    assert "report.pdf · page 2" in caption and "marked" in caption, caption
    # The text view is still there beside it: the card under the answer, highlighted.
    marked = page.locator("#rag-chat details.rag-card[open] mark").all_inner_texts()
    assert "2.4 million euro" in " ".join(marked)
    src = str(page.locator("#rag-page img").get_attribute("src"))
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    request = urllib.request.Request(
        src if src.startswith("http") else server.url.rstrip("/") + src,
        headers={"Cookie": cookies},
    )
    image = Image.open(io.BytesIO(urllib.request.urlopen(request, timeout=10).read()))
    pixels = image.convert("RGB").get_flattened_data()
    yellow = sum(1 for r, g, b in pixels if r > 200 and g > 180 and b < 160)
    print(f"\npage image shown {shown:.2f} s after the click; {yellow} highlighted pixels")
    assert yellow > 2000, "the cited sentence is not highlighted on the page"
    assert image.height < image.width  # the cited part, legible in the panel
    page.screenshot(path=str(SHOTS / "pdf-page.png"), full_page=True)
    page.click("#rag-page-whole")
    page.wait_for_function(
        "() => !document.querySelector('#rag-page-caption').innerText.includes('cited part')"
    )
    page.wait_for_function(
        "() => { const i = document.querySelector('#rag-page img');"
        " return i && i.complete && i.naturalHeight > i.naturalWidth; }"
    )
    page.screenshot(path=str(SHOTS / "pdf-whole-page.png"), full_page=True)

    # A citation of a text file keeps the text view only.
    _choose(page, "#rag-scope", "pillars.txt")
    page.locator("#rag-scope input").click()
    page.keyboard.press("Escape")
    page.click("#rag-scope-clear")
    _choose(page, "#rag-scope", "pillars.txt")
    _ask(page, "How much did the repair of the western pillar cost?")
    page.locator("#rag-chat .rag-answer a.rag-cite").last.click()
    page.wait_for_selector("#rag-page img", state="detached", timeout=SEEN_TIMEOUT)
    page.click("#rag-scope-clear")
    page.context.close()


def test_conversations_survive_reload_and_restart_and_can_be_renamed_and_deleted(  # type: ignore[no-untyped-def]
    browser, server
) -> None:
    page = _login(browser, server.url)
    _new_conversation(page)
    first = "How much did the repair of the western pillar cost?"
    assert "1.1 million euro" in _ask(page, first)
    _ask(page, "And when was it finished?")
    page.reload()
    _ready(page)
    # The reloaded tab shows the same conversation, answers and citations included.
    page.wait_for_function("() => document.querySelectorAll('#rag-chat .rag-answer').length === 2")
    assert first in page.locator("#rag-convs").inner_text()
    page.context.close()

    server.stop()
    server.start()
    page = _login(browser, server.url)
    label = page.locator("#rag-convs label", has_text=first)
    assert label.count() == 1 and "2 questions" in label.inner_text()
    _new_conversation(page)
    label.click()
    page.wait_for_function("() => document.querySelectorAll('#rag-chat .rag-answer').length === 2")
    assert "1.1 million euro" in page.locator("#rag-chat .rag-answer").first.inner_text()
    assert page.locator("#rag-chat details.rag-card").count() >= 1
    # Continued: the follow-up uses the reopened history, and is saved with the rest.
    _ask(page, "How much did the repair of the eastern pillar cost?")
    page.wait_for_function(
        "t => [...document.querySelectorAll('#rag-convs label')]"
        ".some(l => l.innerText.includes(t) && l.innerText.includes('3 questions'))",
        arg=first,
    )
    page.fill("#rag-conv-title textarea, #rag-conv-title input", "Pillar repairs")
    page.click("#rag-rename")
    page.wait_for_function(
        "() => document.querySelector('#rag-convs').innerText.includes('Pillar repairs')"
    )
    page.screenshot(path=str(SHOTS / "conversations.png"), full_page=True)

    # Another user sees none of it.
    other = _login(browser, server.url, "ben")
    assert "Pillar repairs" not in other.locator("#rag-convs").inner_text()
    assert other.locator("#rag-chat .rag-answer").count() == 0
    other.context.close()

    page.click("#rag-conv-delete")
    page.wait_for_function(
        "() => !document.querySelector('#rag-convs').innerText.includes('Pillar repairs')"
    )
    assert page.locator("#rag-chat .rag-answer").count() == 0
    page.reload()
    _ready(page)
    assert "Pillar repairs" not in page.locator("#rag-convs").inner_text()
    page.context.close()


def test_a_conversation_downloads_as_markdown_with_its_sources(browser, server) -> None:  # type: ignore[no-untyped-def]
    page = _login(browser, server.url)
    _new_conversation(page)
    _choose(page, "#rag-scope", "report.pdf")
    _ask(page, "How much did the repair of the eastern pillar cost?")
    page.click("#rag-scope-clear")
    _ask(page, "How much did the repair of the western pillar cost?")
    with page.expect_download() as download:
        page.click("#rag-export")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    (SHOTS / "export.md").write_text(text, encoding="utf-8")
    assert download.value.suggested_filename.endswith(".md")
    assert "## 1. How much did the repair of the eastern pillar cost?" in text
    assert "2.4 million euro [1]" in text and "1.1 million euro [1]" in text
    assert "report.pdf, page 2" in text and "*Within:* report.pdf" in text
    quotes = [ln for ln in text.splitlines() if ln.startswith("   > ")]
    assert any("The repair of the eastern pillar cost 2.4 million euro" in q for q in quotes)
    assert "pillars.txt" in text
    page.context.close()


def test_the_watched_folder_is_synced_into_the_open_page(browser, server) -> None:  # type: ignore[no-untyped-def]
    page = _login(browser, server.url)
    page.get_by_role("tab", name="Documents").click()
    status = page.locator("#rag-status").inner_text()
    new = server.library / "notes" / "opening.txt"
    new.write_text(
        "The repainted Zorblat bridge was opened again by mayor Fenna Kuipers.", encoding="utf-8"
    )
    started = time.monotonic()
    page.wait_for_function(
        "() => document.querySelector('#rag-docs').innerText.includes('opening.txt')",
        timeout=SEEN_TIMEOUT,
    )
    print(f"\nnew file listed {time.monotonic() - started:.1f} s after it was written")
    assert page.locator("#rag-status").inner_text() != status
    page.screenshot(path=str(SHOTS / "watched-folder.png"), full_page=True)
    _new_conversation(page)
    assert "Fenna Kuipers" in _ask(page, "Who opened the repainted bridge again?")

    new.write_text("The bridge was opened again by alderman Fenna Jansen.", encoding="utf-8")
    page.wait_for_function(
        "() => /1 updated/.test(document.querySelector('#rag-status').innerText)",
        timeout=SEEN_TIMEOUT,
    )
    assert "Fenna Jansen" in _ask(page, "Who opened the bridge again?")
    new.unlink()
    page.wait_for_function(
        "() => !document.querySelector('#rag-docs').innerText.includes('opening.txt')",
        timeout=SEEN_TIMEOUT,
    )
    page.context.close()
