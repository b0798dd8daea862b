"""The CLI: user mistakes end in one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ui.cli import main

RAG = [sys.executable, "-m", "ui.cli"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RAG, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        cwd=Path(__file__).parent.parent,
    )


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["ask", ""], {}, "question is empty"),
        (["ask", "anything?"], {}, "rag index"),
        (["index", "/no/such/folder"], {}, "no such file or folder"),
        (["ask", "x?"], {"RAG_LLM": "gpt5000"}, "invalid setting RAG_LLM"),
        (["ask", "x?"], {"RAG_CHROMA_URL": "ftp://x"}, "RAG_CHROMA_URL"),
    ],
)
def test_user_mistakes_print_one_line(
    args: list[str], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = _run(args, {"RAG_STORE_DIR": str(tmp_path / "s"), **env})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("rag: error:")]
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_unreachable_chroma_server(tmp_path: Path) -> None:
    result = _run(["ask", "x?"], {"RAG_CHROMA_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2 and "Cannot reach the Chroma server" in result.stderr
    assert "Traceback" not in result.stderr


def test_index_reports_failures_and_exits_non_zero(
    seeds: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real packaged embedder: cheap (a 4-bit model in C) and the CLI's default.
    (seeds / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    code = main(["index", str(seeds)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "1 added" in out and "1 failed" in out
    assert "broken.pdf" in err and "PDF" in err

    assert main(["index", str(seeds)]) == 1
    out, _ = capsys.readouterr()
    assert "1 unchanged" in out and "0 chunks written" in out


def test_ask_json_through_an_openai_compatible_server(
    seeds: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.openai_server import FakeOpenAIServer

    def reader(messages: list[dict[str, str]]) -> str:
        """A model that answers from the numbered source that holds the answer."""
        line = next(ln for ln in messages[-1]["content"].splitlines() if "Piaggio" in ln)
        return f"Piaggio Aerospace {line.split()[0]}."

    assert main(["index", str(seeds)]) == 0
    with FakeOpenAIServer(reply=reader) as server:
        monkeypatch.setenv("RAG_LLM", "openai")
        monkeypatch.setenv("RAG_LLM_MODEL", "tiny")
        monkeypatch.setenv("RAG_LLM_BASE_URL", server.url)
        capsys.readouterr()
        assert main(["ask", "What did Baykar acquire in Italy?", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["answer"] == "Piaggio Aerospace [1]." and payload["abstained"] is False
    (c,) = payload["citations"]
    assert set(c) == {"n", "source", "text", "page", "score"}
    assert "Piaggio" in c["text"] and c["source"].endswith(".nl.txt")
