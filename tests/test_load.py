"""People asking at once, in real browser sessions against a real `rag ui` (bench/load.py).

The full form is `.venv/bin/python -m bench.load` (8 sessions x 3 questions, docs/PERFORMANCE.md);
here a smaller one on the default models, and one against an OpenAI-compatible server to show
that such a backend really answers several sessions at the same time.
"""

from __future__ import annotations

import json

import pytest

from bench.load import run
from tests.openai_server import FakeOpenAIServer
from tests.test_browser_features import reply

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_sessions_asking_at_once_are_all_answered_and_told_their_place() -> None:
    summary = run(sessions=3, questions=2, timeout_s=600)
    rows = summary.pop("rows")
    log = summary.pop("server_log")
    print("\n" + json.dumps(summary, indent=1))
    assert summary["errors"] == [], (rows, log)
    assert summary["answered"] == summary["asked"] == 6
    # One local model answers one question at a time: the others were shown their place.
    assert summary["shown_a_queue_place"] >= 1, rows
    assert all("sources_s" in r for r in rows)
    # Looking does not wait for the model: whoever waited saw the passages meanwhile
    # (a follow-up the preview searched with the previous question). Each row's `trace` says
    # what its page showed when; this once caught a page-load step wiping a first question.
    # A question first in line may glimpse "queue: 1/1" for a poll before its sources arrive
    # (0.3 s) and then be answered at once: only those that waited seconds must have seen them.
    waited = [r for r in rows if r.get("queued_s", 0) >= 2]
    assert waited, rows
    assert all(r.get("sources_while_queued") for r in waited), [
        (r["question"], r["queued_s"], r["trace"]) for r in waited
    ]


def test_an_openai_compatible_backend_answers_sessions_in_parallel() -> None:
    with FakeOpenAIServer(reply, model="tiny", word_delay=0.25) as server:
        summary = run(
            sessions=4,
            questions=1,
            timeout_s=180,
            env={"RAG_LLM": "openai", "RAG_LLM_BASE_URL": server.url, "RAG_LLM_MODEL": "tiny"},
        )
        rows = summary.pop("rows")
        log = summary.pop("server_log")
        print("\n" + json.dumps(summary, indent=1))
        print(f"most requests at once: {server.max_in_flight}")
        assert summary["errors"] == [] and summary["answered"] == 4, (rows, log)
        assert server.max_in_flight >= 2  # the chat did not queue them one by one
