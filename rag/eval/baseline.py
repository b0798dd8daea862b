"""The reference row of docs/EVAL.md: a plain llama-index VectorStoreIndex + query engine.

Same embedder and LLM as the product, wrapped as llama-index components and passed
explicitly (llama-index's global Settings would reach for OpenAI). No keyword search,
no evidence selection, no citations: what one gets from the library's defaults.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core import VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.llms import (
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.schema import TextNode
from pydantic import PrivateAttr

from index import Embedder, load_embedder
from rag.citations import is_abstention
from rag.eval import metrics
from rag.eval.datasets import load_dataset
from rag.eval.run import RANKED, EvalOptions, EvalReport, Result
from rag.llm import LLM, load_llm
from rag.settings import RagSettings


class WrappedEmbedding(BaseEmbedding):
    """Our Embedder (with its query/passage prefixes) as a llama-index embedding model."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Embedder, embed_batch_size: int = 16, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, embed_batch_size=embed_batch_size, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in v] for v in self._embedder.embed_passages(list(texts))]


class WrappedLLM(CustomLLM):
    """Our chat LLM as a llama-index completion model (the prompt becomes one user turn)."""

    _llm: Any = PrivateAttr()
    max_tokens: int = 200

    def __init__(self, llm: LLM, max_tokens: int = 200, **kwargs: Any) -> None:
        super().__init__(max_tokens=max_tokens, **kwargs)
        self._llm = llm

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self._llm.context_window,
            num_output=self.max_tokens,
            model_name=self._llm.name,
        )

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        text = "".join(self._llm.stream([{"role": "user", "content": prompt}], self.max_tokens))
        return CompletionResponse(text=text)

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            text = ""
            for piece in self._llm.stream([{"role": "user", "content": prompt}], self.max_tokens):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        return gen()


def evaluate_baseline(
    directory: str | Path,
    options: EvalOptions,
    settings: RagSettings | None = None,
    *,
    embedder: Embedder | None = None,
    llm: LLM | None = None,
    top_k: int = 2,  # as_query_engine's default
) -> EvalReport:
    """Score llama-index's defaults: VectorStoreIndex retriever, `as_query_engine()` answers."""
    from tqdm import tqdm

    started = time.perf_counter()
    settings = settings or RagSettings()
    dataset = load_dataset(directory, options.split)
    embedder = embedder or load_embedder(
        settings.index.embed_model, str(settings.index.cache_dir / "hf")
    )
    if llm is None and options.answer and dataset.has_answers:
        llm = load_llm(settings, settings.index.cache_dir)
    questions = options.questions(dataset)
    embed_model = WrappedEmbedding(embedder)
    nodes = [TextNode(id_=p.id, text=p.text) for p in dataset.passages]
    # The library's own default VectorStoreIndex: an in-memory store, embedded afresh.
    index = VectorStoreIndex(nodes, embed_model=embed_model, show_progress=options.show_progress)
    index_seconds = time.perf_counter() - started
    retriever = index.as_retriever(similarity_top_k=RANKED)
    engine = (
        index.as_query_engine(llm=WrappedLLM(llm), similarity_top_k=top_k)
        if llm is not None
        else None
    )
    results = []
    for q in tqdm(questions, desc="llama-index baseline", disable=not options.show_progress):
        t0 = time.perf_counter()
        ranked = [n.node.node_id for n in retriever.retrieve(q.text)]
        result = Result(q, ranked, time.perf_counter() - t0)
        if engine is not None:
            t0 = time.perf_counter()
            reply = str(engine.query(q.text))
            result.seconds = time.perf_counter() - t0
            result.reply = reply
            result.abstained = is_abstention(reply)
            result.correct = not result.abstained and metrics.contains_answer(reply, q.answers)
        results.append(result)
    return EvalReport(
        dataset.name,
        options.split,
        "baseline-" + options.mode,
        results,
        len(dataset.passages),
        len(dataset.passages),
        index_seconds,
        time.perf_counter() - started,
    )


__all__: Sequence[str] = ["WrappedEmbedding", "WrappedLLM", "evaluate_baseline"]
