"""The chat in a real headless Chromium against a real `rag ui` on the default models.

Screenshots go to artifacts/browser/. Timings (first token, full answer) are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_until_up

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ANSWER_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("ui")
    port = free_port()
    env = {
        **os.environ,
        "RAG_STORE_DIR": str(home / "store"),
        "RAG_UPLOAD_DIR": str(home / "uploads"),
    }
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ui", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url, proc, "rag ui", 180, home / "server.log")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


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


def _open(browser, url: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    # First start indexes seeds/ and warms up; the status says "ready" when both are done.
    page.wait_for_function(
        "() => /[1-9]\\d* chunks.* ready/.test(document.querySelector('#rag-status')?.innerText"
        " || '')",
        timeout=300_000,
    )
    return page


def _ask(page, question: str) -> tuple[float | None, float, list[int], float | None]:  # type: ignore[no-untyped-def]
    """Ask and wait for the final answer; return first-token time, total time, partial
    lengths, and when this question's sources appeared in the side panel."""
    answers_before = page.locator(".rag-answer").count()
    turn = page.locator(".rag-answer").count()  # answers so far in this tab's conversation
    sources = f"#rag-sources .rag-sources-turn-{turn}"
    page.fill("#rag-question textarea", question)
    start = time.time()
    page.click("#rag-ask")
    first, shown, lengths = None, None, []
    while time.time() - start < ANSWER_TIMEOUT_MS / 1000:
        if shown is None and page.locator(sources).count():
            shown = time.time() - start
        answers = page.locator(".rag-answer")
        if answers.count() > answers_before:
            text = answers.last.inner_text()
            if text.strip("▍ \n"):
                first = first or time.time() - start
                if not lengths or lengths[-1] != len(text):
                    lengths.append(len(text))
            if "▍" not in text:
                break
        time.sleep(0.05)
    else:
        raise AssertionError(f"no answer to {question!r}")
    return first, time.time() - start, lengths, shown


def test_baykar_answer_streams_and_its_citation_opens_the_passage(browser, server) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, server)
    first, total, lengths, shown = _ask(page, "What did Baykar acquire in Italy?")
    print(
        f"\nBaykar question (first after start): sources shown {shown:.2f} s, first token "
        f"{first:.2f} s, full answer {total:.2f} s"
    )
    answer = page.locator(".rag-answer").last
    assert "Piaggio" in answer.inner_text()
    assert len(lengths) >= 3, f"answer did not stream: {lengths}"
    # The sources were on screen before the answer's first word.
    assert shown is not None and first is not None and shown < first

    card = page.locator("details.rag-card").last
    assert card.get_attribute("open") is None
    answer.locator("a.rag-cite").first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('details.rag-card')].some(d => d.open)"
    )
    opened = page.locator("details.rag-card[open]").last
    assert "Piaggio" in opened.inner_text()
    assert "Piaggio" in " ".join(opened.locator("mark").all_inner_texts())
    assert ".nl.txt" in opened.locator("summary").inner_text()
    # The sources panel lists the passages used, in Dutch, the cited one marked.
    panel = page.locator("#rag-sources")
    assert "cited as [1]" in panel.inner_text() and "overname" in panel.inner_text()
    page.screenshot(path=str(SHOTS / "baykar-answer.png"), full_page=True)

    # Follow-up: rewritten into a standalone question, shown small under the answer.
    first, total, _, shown = _ask(page, "And which company did it sign an agreement with?")
    print(
        f"follow-up: sources shown {shown:.2f} s, first token {first or float('nan'):.2f} s, "
        f"full answer {total:.2f} s"
    )
    searched = page.locator(".rag-searched").last
    assert searched.is_visible()
    assert "Baykar" in searched.inner_text()
    page.screenshot(path=str(SHOTS / "follow-up.png"), full_page=True)
    first, total, _, shown = _ask(page, "Who chaired the summit?")
    print(
        f"later question: sources shown {shown:.2f} s, first token {first or float('nan'):.2f} s,"
        f" full answer {total:.2f} s"
    )
    page.close()


def test_uploaded_document_is_indexed_listed_answered_and_deleted(  # type: ignore[no-untyped-def]
    browser, server, tmp_path: Path
) -> None:
    page = _open(browser, server)
    doc = tmp_path / "brug.txt"
    doc.write_text(
        "De Zorblatbrug in Utrecht werd in 1911 geopend door burgemeester Fenna Kuipers. "
        "De brug is gemaakt van gietijzer en overspant de Vaartsche Rijn.",
        encoding="utf-8",
    )
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\x01\x02 not text \x00")
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#rag-upload input[type=file]", [str(doc), str(broken)])
    result = page.locator("#rag-upload-result")
    result.get_by_text("Indexed:").first.wait_for(timeout=120_000)
    assert "broken.txt" in result.inner_text() and "binary" in result.inner_text()
    page.wait_for_function(
        "() => document.querySelector('#rag-docs').innerText.includes('brug.txt')"
    )
    assert "broken.txt" not in page.locator("#rag-docs").inner_text()
    page.screenshot(path=str(SHOTS / "upload.png"), full_page=True)

    _ask(page, "Who opened the Zorblat bridge?")
    answer = page.locator(".rag-answer").last.inner_text()
    assert "Kuipers" in answer
    summaries = page.locator("details.rag-card summary").all_inner_texts()
    assert any("brug.txt" in s for s in summaries)

    page.locator("#rag-delete-pick input").click()
    page.get_by_role("option", name="brug.txt").first.click()
    page.locator("#rag-delete").click()
    result.get_by_text("Deleted 1 document").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => !document.querySelector('#rag-docs').innerText.includes('brug.txt')"
    )
    page.close()


def test_two_tabs_asking_at_once_both_get_answers(browser, server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tabs = [context.new_page(), context.new_page()]
    questions = ["What did Baykar acquire in Italy?", "Who chaired the summit in Rome?"]
    for tab in tabs:
        tab.goto(server)
        tab.wait_for_selector("#rag-question textarea")
    for tab, question in zip(tabs, questions, strict=True):
        tab.fill("#rag-question textarea", question)
    for tab in tabs:
        tab.click("#rag-ask")
    # While both questions are in flight, a new visitor still gets a working page.
    visitor = _open(browser, server)
    still_busy = tabs[1].evaluate(
        "() => [...document.querySelectorAll('.rag-answer')].some(a => a.innerText.includes('▍'))"
        " || !document.querySelector('.rag-answer')"
    )
    print(f"\nnew page loaded while the second tab was still waiting: {still_busy}")
    visitor.close()
    for i, tab in enumerate(tabs):
        tab.wait_for_function(
            "() => { const a = [...document.querySelectorAll('.rag-answer')];"
            " return a.length && !a[a.length - 1].innerText.includes('▍'); }",
            timeout=ANSWER_TIMEOUT_MS,
        )
        assert tab.locator(".rag-answer").last.inner_text().strip()
        tab.screenshot(path=str(SHOTS / f"tab-{i + 1}.png"), full_page=True)
    assert "Piaggio" in tabs[0].locator(".rag-answer").last.inner_text()
    context.close()


def test_asking_opens_only_once_the_page_has_restored_its_conversation(browser, server) -> None:  # type: ignore[no-untyped-def]
    """Opening the page restores the tab's conversation (none on a first visit), which
    replaces the chat: a question asked before that finished was wiped, its passages hidden
    until the answer came. Here the restore is held back: meanwhile nobody can ask."""
    config = json.loads(urllib.request.urlopen(server + "config", timeout=30).read())
    restore = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "restore")
    held: list = []  # type: ignore[type-arg]

    def hold(route) -> None:  # type: ignore[no-untyped-def]
        body = route.request.post_data_json or {}
        if body.get("fn_index") == restore:
            held.append(route)  # let through below
        else:
            route.continue_()

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route("**/queue/join*", hold)
    page.goto(server)
    page.wait_for_selector("#rag-question textarea")
    deadline = time.time() + 120
    while not held and time.time() < deadline:
        page.wait_for_timeout(100)  # routes are handled while the page is waited on
    assert held, "the page never asked to restore its conversation"
    page.wait_for_timeout(1000)  # time for anything else that would open the box
    assert page.locator("#rag-ask").is_disabled()
    assert not page.locator("#rag-question textarea").is_editable()
    held[0].continue_()
    page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=60_000)
    assert page.locator("#rag-question textarea").is_editable()
    page.close()


def test_document_markup_cannot_run_in_the_page(browser, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, server)
    doc = tmp_path / "evil.txt"
    doc.write_text(
        "The Qwertyx festival takes place in Gouda. "
        '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> '
        "[click me](javascript:window.__pwned=3) " + "x" * 3000,
        encoding="utf-8",
    )
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#rag-upload input[type=file]", [str(doc)])
    page.locator("#rag-upload-result").get_by_text("Indexed:").first.wait_for(timeout=120_000)
    page.get_by_role("tab", name="Sources").click()
    _ask(page, "Where does the Qwertyx festival take place?")
    if page.locator("a.rag-cite").count():
        page.locator("a.rag-cite").last.click()
    panel_text = page.locator("#rag-sources").inner_text()
    assert "<script>" in panel_text  # shown as text
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#rag-sources script, #rag-chat script").count() == 0
    page.screenshot(path=str(SHOTS / "markup-as-text.png"), full_page=True)
    page.close()
