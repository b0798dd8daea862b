from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from index import IndexSettings, index_paths
from rag import Engine, RagSettings
from tests.fakes import HashEmbedder, ScriptedLLM

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own store or settings: every RAG_* variable is cleared
    (RAG_CACHE_DIR, where the packaged models are unpacked, is kept)."""
    for name in list(os.environ):
        if name.startswith("RAG_") and name != "RAG_CACHE_DIR":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAG_STORE_DIR", str(tmp_path / "store"))


@pytest.fixture
def index_settings(tmp_path: Path) -> IndexSettings:
    return IndexSettings(store_dir=tmp_path / "store", chunk_size=40, chunk_overlap=10)


@pytest.fixture
def rag_settings(index_settings: IndexSettings) -> RagSettings:
    # The scripted LLM answers in the order its replies are queued; a hypothetical answer to
    # search with would take the first one. tests/test_hypothesis.py turns it on.
    return RagSettings(index=index_settings, hypothetical_search=False)


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def llm() -> ScriptedLLM:
    return ScriptedLLM()


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    target = tmp_path / "docs"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def engine(
    seeds: Path, rag_settings: RagSettings, embedder: HashEmbedder, llm: ScriptedLLM
) -> Engine:
    """An engine over the seed article, with the hash embedder and the scripted LLM (test
    modules that need another one define their own)."""
    index_paths([seeds], rag_settings.index, embedder=embedder)
    return Engine(rag_settings, embedder=embedder, llm=llm)
