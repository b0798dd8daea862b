"""The packaged e5 served over HTTP gives the same retrieval as the packaged e5 in-process.

The server is the product's `index.embed_server` on 127.0.0.1; the client adds the e5
prefixes. Compared on the seed questions and on a slice of the real-document dev set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index import IndexSettings, index_paths, open_store
from index.embed import PACKAGED_E5_NAMES
from index.embed_server import EmbeddingServer, packaged_e5
from index.served import ServedEmbedder

pytestmark = pytest.mark.e2e
REALDOCS = Path(__file__).resolve().parent.parent / "eval" / "realdocs"
# The smallest documents of the set: ~70 chunks, 23 dev questions (the suite's time budget).
SLICE = [
    "baykar-leonardo-2025-05.nl.txt",
    "libffi-closure-api.html",
    "man-db-faq.txt",
    "procps-bugs.md",
    "procps-faq.txt",
    "tomli-README.md",
]
SEED_QUESTIONS = [
    "What did Baykar acquire in Italy?",
    "Which company did Baykar sign an agreement with?",
    "What is Baykar best known for?",
    "Where was the agreement signed?",
    "How many countries has Baykar sold its systems to?",
    "Who chaired the summit?",
    "Who won the 2010 football World Cup?",
]


@pytest.fixture(scope="module")
def e5_url() -> Iterator[str]:
    with EmbeddingServer(packaged_e5(), PACKAGED_E5_NAMES) as server:
        yield server.url


def _slice_questions() -> list[str]:
    records = [json.loads(line) for line in (REALDOCS / "dev.jsonl").open(encoding="utf-8")]
    wanted = {f"docs/{name}" for name in SLICE}
    return [r["question"] for r in records if r["documents"] and set(r["documents"]) <= wanted]


def _top_passages(
    paths: list[Path], questions: list[str], settings: IndexSettings
) -> tuple[list[str], dict[str, np.ndarray]]:
    assert index_paths(paths, settings).ok
    store, embedder = open_store(settings)
    got = store._chunks.get(include=["embeddings"])
    vectors = dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
    return [store.search(embedder.embed_query(q), 1)[0].chunk.id for q in questions], vectors


def _compare(paths: list[Path], questions: list[str], tmp_path: Path, url: str) -> None:
    local = IndexSettings(store_dir=tmp_path / "in-process")
    served = IndexSettings(store_dir=tmp_path / "served", embed_base_url=url, embed_concurrency=2)
    local_top, local_vectors = _top_passages(paths, questions, local)
    served_top, served_vectors = _top_passages(paths, questions, served)

    assert isinstance(open_store(served)[1], ServedEmbedder)
    assert served_vectors.keys() == local_vectors.keys()
    gap = max(float(np.abs(served_vectors[k] - local_vectors[k]).max()) for k in local_vectors)
    agree = sum(a == b for a, b in zip(local_top, served_top, strict=True))
    print(f"same top passage {agree}/{len(questions)}, {len(local_vectors)} chunks, gap {gap:.1e}")
    assert served_top == local_top
    assert gap < 1e-5, f"served vectors differ from in-process ones by up to {gap}"


def test_seed_questions_find_the_same_passage_served_and_in_process(
    seeds: Path, tmp_path: Path, e5_url: str
) -> None:
    _compare([seeds], SEED_QUESTIONS, tmp_path, e5_url)


def test_a_realdocs_slice_finds_the_same_passages_served_and_in_process(
    tmp_path: Path, e5_url: str
) -> None:
    questions = _slice_questions()
    assert len(questions) >= 20
    _compare([REALDOCS / "docs" / name for name in SLICE], questions, tmp_path, e5_url)
