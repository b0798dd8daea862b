"""Several people asking at once, in real browser sessions against a real `rag ui`.

    .venv/bin/python -m bench.load                          # 8 sessions x 3 questions
    .venv/bin/python -m bench.load --sessions 3 --questions 2   # the CI form (tests/test_load.py)
    .venv/bin/python -m bench.load --url http://chat-host:7860/  # browsers here, chat elsewhere

Indexes seeds/ into a temporary store, starts `rag ui` on it (default models unless RAG_LLM
and friends say otherwise), waits until its status says ready, then opens `--sessions`
browser sessions (separate Chromium contexts: separate people) that all ask at the same
moment, each its `--questions` questions one after another (the second one a follow-up).
For every question it records when the sources appeared, the first answer token, the end,
any error, and the queue places the session was shown while it waited. It prints p50/p95
of each, the errors, and the server's peak RSS. On this 2-core machine the browsers take about
a core themselves; `--url` drives a chat already running elsewhere (with seeds/ indexed, and a
login-free page), so that they do not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
# Each session asks a first question, a follow-up to it, then another question.
CONVERSATIONS = [
    ["What did Baykar acquire in Italy?", "And who chaired the summit?", "What is Leonardo?"],
    ["Who chaired the summit?", "Where was it held?", "What did Baykar acquire in Italy?"],
    [
        "How many countries has Baykar sold its systems to?",
        "And what does it make?",
        "Who is Selçuk Bayraktar?",
    ],
    ["What is Piaggio Aerospace?", "Who bought it?", "Which agreement was signed in Rome?"],
]
QUEUE = re.compile(r"queue:?\s*(\d+)\s*/\s*(\d+)", re.IGNORECASE)
ANSWER_TIMEOUT_S = 900
# No animations (spinners, pulsing queue badges): eight tabs animating at 60 frames a second
# kept Chromium's compositor busy on the cores the chat needs; what is measured is unchanged.
STILL = "*, *::before, *::after { animation: none !important; transition: none !important; }"


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, round(p * (len(xs) - 1)))], 2)


def peak_rss_gib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(found.group(1)) / 2**20, 2) if found else None


async def _ask(page: Any, question: str, turn: int, timeout_s: float) -> dict[str, Any]:
    answers_before = await page.locator(".rag-answer").count()
    await page.fill("#rag-question textarea", question)
    start = time.monotonic()
    await page.click("#rag-ask")
    row: dict[str, Any] = {
        "question": question,
        "turn": turn,
        "queue": [],
        "error": None,
        "trace": [],
    }
    queued_from: float | None = None  # when a queue place was first shown
    sources = f"#rag-sources .rag-sources-turn-{turn}"
    while time.monotonic() - start < timeout_s:
        now = time.monotonic() - start
        state = await page.evaluate(
            """([before, sources]) => {
                const a = [...document.querySelectorAll('.rag-answer')];
                const last = a.length > before ? a[a.length - 1].textContent : null;
                return {
                    last,
                    sources: !!document.querySelector(sources),
                    // ours, Gradio's toasts, and the "Error" a component shows when its
                    // event raised (which otherwise looks like a reply that never ends)
                    error: [...document.querySelectorAll('.rag-error, .toast-body, .error')]
                        .map(e => e.textContent.trim()).filter(t => t).join(' ') || null,
                    // textContent, not innerText: no layout work per poll
                    waiting: document.body.textContent,  // Gradio's "queue: 2/5 |" badge
                };
            }""",
            [answers_before, sources],
        )
        if state["sources"] and "sources_s" not in row:
            row["sources_s"] = now
        queued = QUEUE.search(state["waiting"] or "")
        if queued and (not row["queue"] or row["queue"][-1] != queued.group(0)):
            row["queue"].append(queued.group(0))
        if queued and state["sources"]:
            row["sources_while_queued"] = True  # the passages in view while it waits its turn
        if queued:  # how long it was shown a place: a glimpse before the sources is not a wait
            queued_from = now if queued_from is None else queued_from
            row["queued_s"] = round(now - queued_from, 2)
        seen = [queued.group(0) if queued else None, state["sources"], state["last"] is not None]
        if not row["trace"] or row["trace"][-1][1:] != seen:
            row["trace"].append([round(now, 1), *seen])  # what the page showed, when it changed
        if state["error"]:
            row["error"] = state["error"][:200]
            break
        last = state["last"]
        if last is not None and last.strip("▍ \n") and "first_token_s" not in row:
            row["first_token_s"] = now
        if last is not None and "▍" not in last and last.strip():
            row["total_s"] = now
            row["reply"] = last[:160]
            break
        await asyncio.sleep(0.25)
    else:
        row["error"] = f"no answer in {timeout_s:.0f} s"
        row["last_shown"] = (state["last"] or "")[-300:]
    return row


async def _session(
    browser: Any, url: str, index: int, questions: int, timeout_s: float
) -> list[dict[str, Any]]:
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    await page.goto(url)
    await page.add_style_tag(content=STILL)
    await page.wait_for_selector("#rag-question textarea")
    rows = []
    for turn, question in enumerate(CONVERSATIONS[index % len(CONVERSATIONS)][:questions]):
        row = await _ask(page, question, turn, timeout_s)
        row["session"] = index
        rows.append(row)
        print(
            f"  session {index} q{turn}: sources {row.get('sources_s', float('nan')):.1f} s,"
            f" first token {row.get('first_token_s', float('nan')):.1f} s,"
            f" done {row.get('total_s', float('nan')):.1f} s, queue {row['queue']}"
            f" for {row.get('queued_s', 0):.1f} s"
            + (f", ERROR {row['error']}" if row["error"] else ""),
            file=sys.stderr,
        )
    shots = ROOT / "artifacts" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shots / f"load-session-{index}.png"), full_page=True)
    await context.close()
    return rows


async def _drive(url: str, sessions: int, questions: int, timeout_s: float) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        # A first page waits until the chat says it is ready (warm-up done).
        page = await browser.new_page()
        await page.goto(url)
        await page.wait_for_function(
            "() => / ready/.test(document.querySelector('#rag-status')?.innerText || '')",
            timeout=600_000,
        )
        await page.close()
        results = await asyncio.gather(
            *[_session(browser, url, i, questions, timeout_s) for i in range(sessions)]
        )
        await browser.close()
    return [row for rows in results for row in rows]


def run(
    sessions: int,
    questions: int,
    env: dict[str, str] | None = None,
    timeout_s: float = ANSWER_TIMEOUT_S,
) -> dict[str, Any]:
    """Start `rag ui` on a fresh store of seeds/, drive the sessions, stop it; the summary.

    A question not answered within `timeout_s` is an error; then the summary also holds the
    end of the server's log (`server_log`), which says what went wrong on its side.
    """
    from tests.servers import free_port, wait_until_up

    home = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {
        **os.environ,
        "RAG_STORE_DIR": str(home / "store"),
        "RAG_UPLOAD_DIR": str(home / "uploads"),
        "RAG_CONVERSATIONS_DB": str(home / "conversations.sqlite3"),
        **(env or {}),
    }
    subprocess.run(
        [sys.executable, "-m", "ui.cli", "index", str(ROOT / "seeds")],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ui", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, proc, "rag ui", 300, home / "server.log")
        started = time.monotonic()
        rows = asyncio.run(_drive(url, sessions, questions, timeout_s))
        wall = time.monotonic() - started
        rss = peak_rss_gib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    log.close()
    server_log = (home / "server.log").read_text(errors="replace")
    return _summary(rows, sessions, questions, wall, rss, server_log)


def _summary(
    rows: list[dict[str, Any]],
    sessions: int,
    questions: int,
    wall: float,
    rss: float | None,
    server_log: str,
) -> dict[str, Any]:
    ok = [r for r in rows if not r["error"]]
    return {
        "sessions": sessions,
        "questions_each": questions,
        "asked": len(rows),
        "answered": len([r for r in ok if "total_s" in r]),
        "errors": [r["error"] for r in rows if r["error"]],
        "sources_s": {
            "p50": pct([r["sources_s"] for r in ok if "sources_s" in r], 0.5),
            "p95": pct([r["sources_s"] for r in ok if "sources_s" in r], 0.95),
        },
        "first_token_s": {
            "p50": pct([r["first_token_s"] for r in ok if "first_token_s" in r], 0.5),
            "p95": pct([r["first_token_s"] for r in ok if "first_token_s" in r], 0.95),
        },
        "done_s": {
            "p50": pct([r["total_s"] for r in ok if "total_s" in r], 0.5),
            "max": pct([r["total_s"] for r in ok if "total_s" in r], 1.0),
        },
        "shown_a_queue_place": sum(bool(r["queue"]) for r in rows),
        "queued_with_sources_shown": sum(bool(r.get("sources_while_queued")) for r in rows),
        "queue_places_seen": sorted({q for r in rows for q in r["queue"]}),
        "wall_s": round(wall, 1),
        "server_peak_rss_gib": rss,
        "server_log": server_log[-4000:] if len(ok) < len(rows) else "",
        "rows": rows,
    }


def run_against(url: str, sessions: int, questions: int, timeout_s: float) -> dict[str, Any]:
    """Drive the sessions against a chat that is already running at `url` (e.g. on another
    machine, so that the browsers do not take the chat's cores); no server RSS then."""
    started = time.monotonic()
    rows = asyncio.run(_drive(url, sessions, questions, timeout_s))
    return _summary(rows, sessions, questions, time.monotonic() - started, None, "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--questions", type=int, default=3, help="questions per session (max 3)")
    ap.add_argument(
        "--timeout", type=float, default=ANSWER_TIMEOUT_S, help="seconds one answer may take"
    )
    ap.add_argument(
        "--url", help="a chat already running (its documents: seeds/), instead of starting one"
    )
    args = ap.parse_args()
    if args.url:
        summary = run_against(args.url, args.sessions, min(args.questions, 3), args.timeout)
    else:
        summary = run(args.sessions, min(args.questions, 3), timeout_s=args.timeout)
    summary.pop("rows")
    log = summary.pop("server_log")
    print(json.dumps(summary, indent=1))
    if log:
        print("--- end of the server's log ---\n" + log, file=sys.stderr)


if __name__ == "__main__":
    main()
