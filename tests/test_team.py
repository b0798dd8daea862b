"""scripts/team.sh on loopback: `chroma run`, the embedding server (packaged e5), an LLM server
(the fake OpenAI-compatible one here) and `rag ui` with a login; the Baykar question is asked
through the chat's HTTP API."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.e2e  # the real packaged e5, behind its server
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "team-s3cret"


def test_the_team_setup_answers_through_the_login(tmp_path: Path, seeds: Path) -> None:
    if not (Path(sys.executable).parent / "chroma").exists() or not shutil.which("bash"):
        pytest.skip("needs bash and the chroma CLI next to the interpreter")
    ports = {name: free_port() for name in ("CHROMA_PORT", "EMBED_PORT", "LLM_PORT", "UI_PORT")}
    llm = f"{sys.executable} -m tests.openai_server --port {ports['LLM_PORT']} --model local"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAG_")},
        **{name: str(port) for name, port in ports.items()},
        "PY": sys.executable,
        "TEAM_DATA": str(tmp_path / "team"),
        "RAG_UI_PASSWORD": PASSWORD,
        "RAG_CACHE_DIR": str(tmp_path / "cache"),
        "LLM_SERVER": f"{llm} --cite 'Piaggio Aerospace'",
    }
    log = tmp_path / "team.log"
    url = f"http://127.0.0.1:{ports['UI_PORT']}/"
    with log.open("w") as out:
        team = subprocess.Popen(
            ["bash", "scripts/team.sh", str(seeds)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the teardown reaches every server
        )
    try:
        wait_until_up(url, team, "scripts/team.sh", 300, log)
        assert "1 added" in log.read_text()  # indexed into the Chroma server, served vectors
        assert (tmp_path / "team" / "chroma").is_dir()
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(url + "config", timeout=10)  # no login, no chat
        chat = _ask(url, "What did Baykar acquire in Italy?")
    finally:
        os.killpg(team.pid, signal.SIGTERM)
        team.wait(timeout=60)

    answer = chat[-1]["content"][0]["text"]
    assert "Piaggio Aerospace" in answer and 'class="rag-cite' in answer
    assert "Piaggio Aerospace" in answer.split('class="rag-passage">', 1)[1]  # the cited passage


def _ask(url: str, question: str) -> list[dict[str, object]]:
    from gradio_client import Client

    client = Client(url, auth=("rag", PASSWORD), verbose=False)
    chat, _box, _sources = client.predict(question, [], api_name="/respond")
    return list(chat)
