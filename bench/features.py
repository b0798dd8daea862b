"""The four figures of issue 13, measured on real documents with the packaged models.

    .venv/bin/python -m bench.features pages   # page-image render time for cited PDF pages
    .venv/bin/python -m bench.features watch   # file change -> its chunks searchable, --watch
    .venv/bin/python -m bench.features ui      # real `rag ui --watch` in Chromium: reopening
                                               # a 50-turn conversation, a cited page, a watched
                                               # change, export; peak RSS of the server

The corpus is the three PDFs of eval/realdocs plus seeds/ (real manuals and the seed
article). `ui` answers with the default embedded LLM (packaged Qwen2.5-1.5B), as a user's
chat does. Each prints one JSON line; results are kept in bench/results/features-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PDFS = sorted((ROOT / "eval" / "realdocs" / "docs").glob("*.pdf"))
RESULTS = ROOT / "bench" / "results"


def _corpus(home: Path) -> Path:
    library = home / "library"
    (library / "manuals").mkdir(parents=True)
    for pdf in PDFS:
        shutil.copy(pdf, library / "manuals" / pdf.name)
    shutil.copytree(ROOT / "seeds", library / "news")
    return library


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50": round(statistics.median(ordered), 4),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
        "max": round(ordered[-1], 4),
    }


def bench_pages(home: Path) -> dict[str, Any]:
    """Render the page of every PDF chunk's first two sentences, as a citation of it would.

    Chunks are made as `rag index` makes them (no embedding needed to cite a page)."""
    from index import IndexSettings
    from index.chunk import chunk, split_sentences
    from index.load import file_hash, load_file
    from ui import pages

    settings = IndexSettings(store_dir=home / "store")
    chunks = [
        c
        for pdf in PDFS
        for c in chunk(load_file(pdf), file_hash(pdf), settings.chunk_size, settings.chunk_overlap)
    ]
    cold, warm, found, wanted = [], [], 0, 0
    for c in chunks:
        sentences = tuple(s.text for s in split_sentences(c.text)[:2])
        pages._render.cache_clear()
        shown = pages.render_page(c.source, c.page or 1, sentences)
        cold.append(shown.seconds)
        warm.append(pages.render_page(c.source, c.page or 1, sentences).seconds)
        found += shown.found
        wanted += shown.wanted
    return {
        "what": "render a cited PDF page with its sentences highlighted (pypdfium2, scale 1.6)",
        "pdfs": [p.name for p in PDFS],
        "cold_s": _percentiles(cold),
        "cached_s": _percentiles(warm),
        "sentences_found": f"{found}/{wanted}",
    }


def bench_watch(home: Path, rounds: int) -> dict[str, Any]:
    """Time from a file written in a watched folder to its chunks coming back from search."""
    from index import IndexSettings, open_store
    from index.watch import watch_paths

    settings = IndexSettings(store_dir=home / "store")
    library = _corpus(home)
    store, embedder = open_store(settings)
    stop, synced = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=watch_paths,
        args=([library], settings),
        kwargs={"embedder": embedder, "on_sync": lambda _s: synced.set(), "stop": stop},
        daemon=True,
    )
    thread.start()
    synced.wait(timeout=900)  # the first, full sync
    probe = embedder.embed_query("a note")
    timings: dict[str, list[float]] = {
        "new small file": [],
        "changed file": [],
        "new 40-chunk file": [],
    }
    for i in range(rounds):
        for kind in timings:
            marker = f"zq{i}{len(kind)}marker"
            path = library / ("big" if "40" in kind else "note") / f"{kind[:3]}-{i}.txt"
            if kind == "changed file":
                path = library / "note" / f"new-{i}.txt"
            path.parent.mkdir(exist_ok=True)
            body = f"A note about {marker} and the bridge. "
            text = body * (320 if "40" in kind else 1)
            started = time.monotonic()
            path.write_text(text, encoding="utf-8")
            source = str(path.resolve())
            while True:
                hits = store.search(probe, 50, [source])
                if any(marker in h.chunk.text for h in hits):
                    break
                time.sleep(0.01)
            timings[kind].append(time.monotonic() - started)
    stop.set()
    thread.join(timeout=30)
    return {
        "what": "file written -> its chunks returned by a search limited to it (watch_paths, "
        "packaged e5 in-process, quiet_ms 300)",
        "delay_s": {k: _percentiles(v) for k, v in timings.items()},
    }


def _populate(home: Path, library: Path, turns: int) -> str:
    """A `turns`-long conversation of real retrievals over the library, saved as the chat does."""
    from index import IndexSettings, index_paths
    from rag import Engine, RagSettings
    from ui.chat import Conversations, Session
    from ui.conversations import ConversationStore

    class Citing:  # an LLM that cites the first source: the shape of a real answer
        name, context_window, token_probabilities = "citing", 4096, False

        def stream(self, messages: Any, max_tokens: int) -> Any:
            line = messages[-1]["content"].splitlines()[1]
            yield " ".join(line.split()[1:12]) + " [1]."

        def count_tokens(self, text: str) -> int:
            return len(text.split())

        def first_token_probability(self, messages: Any, text: str) -> float:
            raise NotImplementedError

    settings = RagSettings(index=IndexSettings(store_dir=home / "store"), min_evidence_score=0)
    index_paths([library], settings.index)
    store = ConversationStore(home / "conversations.sqlite")
    chat = Conversations(Engine(settings, llm=Citing()), store)
    questions = [
        "What does the FHS say about /usr/local?",
        "How does bzip2 recover data from damaged files?",
        "What is a CRC polynomial?",
        "What did Baykar acquire in Italy?",
        "Where are variable data files kept?",
    ]
    session, messages = Session(), []
    for i in range(turns):
        question = questions[i % len(questions)] + f" (turn {i + 1})"
        *_, (messages, session, _, _) = chat.respond(question, messages, session)
    assert session.conversation and len(session.answers) == turns
    return session.conversation


def bench_ui(home: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.servers import free_port, wait_until_up
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    library = _corpus(home)
    conversation = _populate(home, library, 50)
    port = free_port()
    env = {**os.environ, "RAG_STORE_DIR": str(home / "store")}
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ui", "--port", str(port), "--watch", str(library)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    out: dict[str, Any] = {}
    try:
        wait_until_up(url, proc, "rag ui", 300, home / "server.log")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(url)
            page.wait_for_function(
                "() => /last sync/.test(document.querySelector('#rag-status')?.innerText || '')"
                " && /kept/.test(document.querySelector('#rag-convs')?.innerText || '')",
                timeout=300_000,
            )
            reopen = []
            for _ in range(3):
                page.click("#rag-new")
                page.wait_for_function("() => !document.querySelector('#rag-chat .rag-answer')")
                started = time.monotonic()
                page.locator("#rag-convs label").first.click()
                page.wait_for_function(
                    "() => document.querySelectorAll('#rag-chat .rag-answer').length === 50",
                    timeout=60_000,
                )
                reopen.append(time.monotonic() - started)
            out["reopen_50_turns_s"] = _percentiles(reopen)

            # A new question within one PDF, answered by the packaged LLM, then its page.
            page.click("#rag-new")
            page.locator("#rag-scope input").click()
            page.get_by_role("option", name="fhs-3.0.pdf").first.click()
            page.keyboard.press("Escape")
            page.fill("#rag-question textarea", "What is the purpose of the /var directory?")
            started = time.monotonic()
            page.click("#rag-ask")
            page.wait_for_function(
                "() => { const a = [...document.querySelectorAll('#rag-chat .rag-answer')];"
                " return a.length && !a[a.length - 1].innerText.includes('▍'); }",
                timeout=600_000,
            )
            out["scoped_answer_s"] = round(time.monotonic() - started, 2)
            out["scoped_answer"] = page.locator("#rag-chat .rag-answer").last.inner_text()
            cites = page.locator("#rag-chat .rag-answer a.rag-cite")
            if cites.count():
                started = time.monotonic()
                cites.first.click()
                page.wait_for_selector("#rag-page img", timeout=60_000)
                page.wait_for_function(
                    "() => document.querySelector('#rag-page img').complete", timeout=60_000
                )
                out["page_shown_after_click_s"] = round(time.monotonic() - started, 2)
                out["page_caption"] = page.locator("#rag-page-caption").inner_text()
            with page.expect_download() as download:
                page.click("#rag-export")
            out["export_bytes"] = Path(download.value.path()).stat().st_size

            # A watched change reaching the open page (through its 2 s refresh).
            page.get_by_role("tab", name="Documents").click()
            note = library / "news" / "bench-note.txt"
            started = time.monotonic()
            note.write_text("The Zorblat bridge reopened in 2025.", encoding="utf-8")
            page.wait_for_function(
                "() => document.querySelector('#rag-docs').innerText.includes('bench-note.txt')",
                timeout=120_000,
            )
            out["watched_file_listed_s"] = round(time.monotonic() - started, 2)
            browser.close()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        hwm = next(ln for ln in status.splitlines() if ln.startswith("VmHWM"))
        out["peak_rss_mib"] = round(int(hwm.split()[1]) / 1024, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    out["what"] = (
        "rag ui --watch (packaged e5 + packaged Qwen2.5-1.5B) in headless Chromium; "
        f"conversation {conversation[:8]} of 50 turns with 6 sources each"
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.features")
    ap.add_argument("what", choices=("pages", "watch", "ui"))
    ap.add_argument("--rounds", type=int, default=5, help="watch: changes timed per kind")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix=f"bench-{args.what}-"))
    started = time.monotonic()
    if args.what == "pages":
        result = bench_pages(home)
    elif args.what == "watch":
        result = bench_watch(home, args.rounds)
    else:
        result = bench_ui(home)
    result["wall_s"] = round(time.monotonic() - started, 1)
    line = json.dumps(result)
    print(line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"features-{args.what}.json").write_text(line + "\n", encoding="utf-8")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
