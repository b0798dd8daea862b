"""Embeddings from a server: any OpenAI-compatible /v1/embeddings endpoint.

vLLM, Ollama, text-embeddings-inference and OpenAI all speak it, so a team runs the engine it
already has (on a GPU) and every client of one store asks the same server.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np

from index.embed import Vectors, e5_prefixes
from index.errors import EmbedderError
from index.settings import IndexSettings

# The openai client's own retries (with backoff) on dropped connections, 408, 429 and 5xx:
# an ingestion run of hours should survive a server's hiccup.
_RETRIES = 2


class ServedEmbedder:
    """Vectors of `model` from the server at `base_url`; safe to call from several threads.

    Servers embed the text exactly as sent, so e5 models get their `query: ` / `passage: `
    prefixes here, as in-process: both paths give a store the same vectors.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        import openai

        self._openai = openai
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=_RETRIES,
        )
        self.base_url = base_url
        self.name = model
        self.timeout = timeout
        self._query_prefix, self._passage_prefix = e5_prefixes(model)
        self._dim: int | None = None
        self._dim_lock = threading.Lock()

    def embed_query(self, text: str) -> Vectors:
        return self._embed([self._query_prefix + text])[0]

    def embed_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        return self._embed([self._passage_prefix + t for t in texts])

    def _embed(self, inputs: list[str]) -> Vectors:
        reply = self._request(inputs)
        rows = sorted(reply.data, key=lambda d: d.index)
        if len(rows) != len(inputs):
            raise EmbedderError(
                f"The embedding server at {self.base_url} returned {len(rows)} vectors for "
                f"{len(inputs)} texts. Check that it serves an embedding model."
            )
        try:
            vectors = np.asarray([r.embedding for r in rows], dtype=np.float32)
        except ValueError:
            vectors = np.zeros(0, dtype=np.float32)  # ragged: refused just below
        self._check_dim(vectors)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(np.isfinite(vectors)) or not np.all(norms > 0):
            raise EmbedderError(
                f"The embedding server at {self.base_url} returned empty or non-finite vectors."
            )
        # Cosine scores (and the evidence floors calibrated on them) assume unit vectors;
        # not every server normalises.
        return vectors / norms

    def _check_dim(self, vectors: Vectors) -> None:
        with self._dim_lock:
            if vectors.ndim != 2 or vectors.shape[1] == 0:
                raise EmbedderError(
                    f"The embedding server at {self.base_url} returned vectors of mixed or "
                    "zero length."
                )
            if self._dim is None:
                self._dim = int(vectors.shape[1])
            elif vectors.shape[1] != self._dim:
                raise EmbedderError(
                    f"The embedding server at {self.base_url} switched from {self._dim}- to "
                    f"{vectors.shape[1]}-dimensional vectors. Is it still serving {self.name!r}?"
                )

    def _request(self, inputs: list[str]) -> Any:
        oa = self._openai
        server = f"The embedding server at {self.base_url}"
        try:
            return self._client.embeddings.create(model=self.name, input=inputs)
        except oa.APITimeoutError as exc:
            raise EmbedderError(
                f"{server} did not answer within {self.timeout:g} s. Raise RAG_EMBED_TIMEOUT, "
                "or lower RAG_EMBED_BATCH or RAG_EMBED_CONCURRENCY."
            ) from exc
        except oa.APIConnectionError as exc:
            raise EmbedderError(
                f"{server} cannot be reached. Start it, or point RAG_EMBED_BASE_URL at a "
                "running server (unset it to embed in this process)."
            ) from exc
        except oa.AuthenticationError as exc:
            raise EmbedderError(f"{server} refused the API key. Set RAG_EMBED_API_KEY.") from exc
        except oa.NotFoundError as exc:
            raise EmbedderError(
                f"{server} has no model {self.name!r} (or no /embeddings route: the URL usually "
                "ends in /v1). Set RAG_EMBED_MODEL to the name it serves."
            ) from exc
        except oa.APIStatusError as exc:
            said = re.sub(r"^Error code: \d+ - ", "", exc.message)  # the client's own prefix
            raise EmbedderError(f"{server} answered HTTP {exc.status_code}: {said}") from exc
        except (oa.APIError, ValueError, TypeError) as exc:  # a reply that is not embeddings
            raise EmbedderError(f"{server} sent a reply that is not embeddings: {exc}") from exc


_cache: dict[tuple[str, str, str | None, float], ServedEmbedder] = {}
_cache_lock = threading.Lock()


def load_served_embedder(settings: IndexSettings) -> ServedEmbedder:
    """The server embedder for these settings, checked with one request when first made.

    The check makes an unreachable server, a wrong key or model name fail before a long scan
    of the documents, not after it.
    """
    assert settings.embed_base_url
    key = (
        settings.embed_base_url,
        settings.embed_model,
        settings.embed_api_key,
        settings.embed_timeout,
    )
    with _cache_lock:
        if key not in _cache:
            embedder = ServedEmbedder(*key)
            embedder.embed_query("ping")
            _cache[key] = embedder
        return _cache[key]
