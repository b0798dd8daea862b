"""RAG_EMBED_BASE_URL: embeddings from an OpenAI-compatible server, batches sent concurrently.

The server is the product's own (index/embed_server.py) serving scripted vectors on 127.0.0.1.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import index.pipeline
from index import EmbedderError, IndexSettings, ModelMismatchError, index_paths, open_store
from index.served import ServedEmbedder
from tests.embed_server import ScriptedEmbeddings, hash_server
from tests.fakes import HashEmbedder
from tests.servers import free_port


def _corpus(folder: Path, files: int = 12) -> Path:
    folder.mkdir(exist_ok=True)
    for i in range(files):
        words = " ".join(f"w{i}x{j}" for j in range(70))
        (folder / f"doc{i:02d}.txt").write_text(f"Document {i} about topic{i}. {words}.")
    return folder


def _served(settings: IndexSettings, url: str, **update: object) -> IndexSettings:
    fields = {"embed_base_url": url, "embed_model": HashEmbedder.name, **update}
    return settings.model_copy(update=fields)


def _contents(settings: IndexSettings) -> dict[str, list[float]]:
    store, _ = open_store(settings, HashEmbedder())
    got = store._chunks.get(include=["embeddings"])
    return {cid: list(np.round(v, 5)) for cid, v in zip(got["ids"], got["embeddings"], strict=True)}


def test_served_vectors_fill_the_store_as_in_process_ones_do(
    seeds: Path, index_settings: IndexSettings, tmp_path: Path
) -> None:
    local = index_settings.model_copy(update={"store_dir": tmp_path / "local"})
    index_paths([seeds], local, embedder=HashEmbedder())
    with hash_server() as server:
        served = _served(index_settings, server.url)
        first = index_paths([seeds], served)
        again = index_paths([seeds], served)
        store, embedder = open_store(served)
        best = store.search(embedder.embed_query("Piaggio Aerospace"), 1)[0]
        # The store records the model's name: one built in-process is the server's store too.
        shared = index_paths([seeds], _served(local, server.url))

    assert first.ok and first.chunks_written > 0 and again.chunks_written == 0
    assert shared.ok and shared.chunks_written == 0 and len(shared.unchanged) == 1
    assert isinstance(embedder, ServedEmbedder) and store.embed_model == HashEmbedder.name
    assert _contents(served) == _contents(local)
    assert "Piaggio" in best.chunk.text


def test_e5_models_get_their_prefixes_on_the_wire() -> None:
    calls = ScriptedEmbeddings()
    with (
        hash_server(calls, model="intfloat/multilingual-e5-small") as e5,
        hash_server(model="bge-m3") as plain,
    ):
        ServedEmbedder(e5.url, "intfloat/multilingual-e5-small").embed_query("Who?")
        ServedEmbedder(e5.url, "intfloat/multilingual-e5-small").embed_passages(["Jan.", "Piet."])
        bge = ServedEmbedder(plain.url, "bge-m3")
        assert bge.embed_passages(["Jan."]).shape == (1, 384)
    assert calls.requests == [["query: Who?"], ["passage: Jan.", "passage: Piet."]]


def test_a_store_of_another_model_refuses_the_server(
    seeds: Path, index_settings: IndexSettings
) -> None:
    index_paths([seeds], index_settings, embedder=HashEmbedder())
    with hash_server(model="test/other-embedder") as server:
        other = _served(index_settings, server.url, embed_model="test/other-embedder")
        with pytest.raises(ModelMismatchError, match="built with embedding model"):
            index_paths([seeds], other)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_batches_go_out_concurrently_and_land_in_order(
    tmp_path: Path, index_settings: IndexSettings, concurrency: int
) -> None:
    docs = _corpus(tmp_path / "docs")
    expected = index_settings.model_copy(update={"store_dir": tmp_path / "clean"})
    index_paths([docs], expected, embedder=HashEmbedder())
    calls = ScriptedEmbeddings(delay_s=0.05)
    with hash_server(calls) as server:
        settings = _served(index_settings, server.url, embed_batch=4, embed_concurrency=concurrency)
        report = index_paths([docs], settings)

    assert report.ok and len(report.added) == 12
    assert calls.most_in_flight == concurrency
    assert _contents(settings) == _contents(expected)


def test_a_server_failing_mid_run_leaves_whole_files_and_the_rerun_completes(
    tmp_path: Path, index_settings: IndexSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.pipeline, "_WRITE_CHUNKS", 8)  # some files written before it fails
    docs = _corpus(tmp_path / "docs")
    calls = ScriptedEmbeddings(fail_from=6)  # request 0 is the check at start-up
    with hash_server(calls) as server:
        settings = _served(index_settings, server.url, embed_batch=4, embed_concurrency=2)
        with pytest.raises(EmbedderError, match=r"answered HTTP 500: embedding failed"):
            index_paths([docs], settings)
        store, _ = open_store(settings, HashEmbedder())
        files = store.files()
        assert 0 < len(files) < 12
        for source, record in files.items():
            assert not record.pending and len(store.chunks_of(source)) == record.chunks
        assert {c.source for c in store.all_chunks()} == set(files)

        calls.fail_from = None
        rerun = index_paths([docs], settings)
    assert len(rerun.unchanged) == len(files) and len(rerun.added) == 12 - len(files)
    clean = index_settings.model_copy(update={"store_dir": tmp_path / "clean"})
    index_paths([docs], clean, embedder=HashEmbedder())
    assert _contents(settings) == _contents(clean)


def test_unreachable_server_fails_before_any_work(index_settings: IndexSettings) -> None:
    settings = _served(index_settings, f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(EmbedderError, match="cannot be reached"):
        open_store(settings)


def test_wrong_key_and_model_name_say_what_to_set(index_settings: IndexSettings) -> None:
    with hash_server(api_key="right") as server:
        wrong_key = _served(index_settings, server.url, embed_api_key="wrong")
        with pytest.raises(EmbedderError, match="RAG_EMBED_API_KEY"):
            open_store(wrong_key)
        wrong_model = _served(index_settings, server.url, embed_api_key="right", embed_model="x")
        with pytest.raises(EmbedderError, match=r"has no model .x.*RAG_EMBED_MODEL"):
            open_store(wrong_model)


def test_the_cli_prints_one_line_for_an_unreachable_server(
    seeds: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    monkeypatch.setenv("RAG_EMBED_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    assert main(["index", str(seeds)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rag: error: The embedding server at http://")


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("embed_concurrency", 0, "Currently, it is 0"),
        ("embed_batch", 0, "Currently, it is 0"),
        ("embed_timeout", -1, "Currently, it is -1"),
        ("embed_device", "tpu", "Currently, it is 'tpu'"),
        ("embed_base_url", "ftp://x", "RAG_EMBED_BASE_URL must start with http"),
    ],
)
def test_bad_settings_show_the_value(field: str, value: object, shown: str) -> None:
    with pytest.raises(ValueError, match=shown):
        IndexSettings(**{field: value})  # type: ignore[arg-type]


def test_the_server_answers_bad_requests_with_openai_style_errors() -> None:
    with hash_server() as server:

        def post(body: object) -> tuple[int, dict[str, object]]:
            request = urllib.request.Request(
                f"{server.url}/embeddings", data=json.dumps(body).encode(), method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    return reply.status, json.loads(reply.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        model = HashEmbedder.name
        assert post({"model": model, "input": []})[0] == 400
        assert post({"model": model, "input": [1, 2]})[0] == 400
        status, reply = post({"model": "nope", "input": "x"})
        assert status == 404 and "nope" in str(reply["error"])
        status, reply = post({"model": model, "input": "x", "encoding_format": "float"})
        assert status == 200 and len(reply["data"][0]["embedding"]) == 384  # type: ignore[index]
