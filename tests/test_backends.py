from __future__ import annotations

import socket
from pathlib import Path

import pytest

from index import index_paths
from rag import Engine, LLMUnavailableError, ModelUnavailableError, RagSettings
from rag.llm import load_llm, packaged
from tests.fakes import HashEmbedder
from tests.openai_server import FakeOpenAIServer


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_openai_compatible_server_answers_with_citations(
    seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder
) -> None:
    index_paths([seeds], rag_settings.index, embedder=embedder)
    with FakeOpenAIServer(reply="Baykar bought Piaggio Aerospace [1].", api_key="k1") as server:
        settings = rag_settings.model_copy(
            update={
                "llm": "openai",
                "llm_model": "tiny",
                "llm_base_url": server.url,
                "llm_api_key": "k1",
            }
        )
        answer = Engine(settings, embedder=embedder).ask("Piaggio Aerospace overname")

    assert answer.text == "Baykar bought Piaggio Aerospace [1]."
    assert "Piaggio" in answer.citations[0].text
    request = server.requests[0]
    assert request["stream"] is True and request["temperature"] == 0.0
    assert "Question: Piaggio Aerospace overname" in request["messages"][-1]["content"]


def test_wrong_model_name_and_key_give_clear_errors(rag_settings: RagSettings) -> None:
    with FakeOpenAIServer(api_key="right") as server:
        base = {"llm": "openai", "llm_base_url": server.url}
        wrong_model = load_llm(
            rag_settings.model_copy(update={**base, "llm_model": "nope", "llm_api_key": "right"})
        )
        with pytest.raises(ModelUnavailableError, match="no model 'nope'"):
            list(wrong_model.stream([{"role": "user", "content": "hi"}], 5))
        wrong_key = load_llm(
            rag_settings.model_copy(update={**base, "llm_model": "tiny", "llm_api_key": "wrong"})
        )
        with pytest.raises(LLMUnavailableError, match="RAG_LLM_API_KEY"):
            list(wrong_key.stream([{"role": "user", "content": "hi"}], 5))


def test_unreachable_server_says_what_to_do(rag_settings: RagSettings) -> None:
    llm = load_llm(
        rag_settings.model_copy(
            update={"llm": "ollama", "llm_base_url": f"http://127.0.0.1:{_closed_port()}/v1"}
        )
    )
    with pytest.raises(LLMUnavailableError, match="Cannot reach the LLM server"):
        list(llm.stream([{"role": "user", "content": "hi"}], 5))


def test_missing_gguf_path_is_reported(rag_settings: RagSettings, tmp_path: Path) -> None:
    settings = rag_settings.model_copy(update={"llm_model": str(tmp_path / "none.gguf")})
    with pytest.raises(ModelUnavailableError, match="No GGUF model"):
        load_llm(settings)


def test_packaged_model_is_assembled_once_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    parts = []
    for i in range(1, 4):
        part = tmp_path / f"part{i:02d}.bin"
        part.write_bytes(bytes([i]) * 1000)
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(packaged, "PARTS", 3)
    monkeypatch.setattr(packaged, "SIZE", len(whole))
    monkeypatch.setattr(packaged, "SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(packaged, "_part", lambda i: parts[i - 1])

    path = packaged.packaged_model_path(tmp_path / "cache")
    assert path.read_bytes() == whole
    mtime = path.stat().st_mtime_ns
    assert packaged.packaged_model_path(tmp_path / "cache").stat().st_mtime_ns == mtime

    monkeypatch.setattr(packaged, "SHA256", "0" * 64)
    with pytest.raises(ModelUnavailableError, match="sha256"):
        packaged.packaged_model_path(tmp_path / "other")
    assert not list((tmp_path / "other" / "models").iterdir())
