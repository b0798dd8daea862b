"""Settings of the answering layer; the indexing layer's settings are composed in."""

from __future__ import annotations

from pydantic import Field, field_validator

from index.settings import IndexSettings, LayerSettings, unknown_environment
from rag.llm import BACKENDS


class RagSettings(LayerSettings):
    """How questions are answered. Every field reads `RAG_<NAME>` from the environment."""

    index: IndexSettings = Field(default_factory=IndexSettings)
    llm: str = Field(
        default="llamacpp",
        description="LLM backend: "
        + "; ".join(f"{name}: {b.description}" for name, b in BACKENDS.items())
        + ".",
    )
    llm_model: str | None = Field(
        default=None,
        description="llamacpp: path to a GGUF file (default: the packaged Qwen2.5-Coder-1.5B). "
        "ollama/openai: the model name on the server.",
    )
    llm_base_url: str | None = Field(default=None, description="Server URL for ollama/openai.")
    llm_api_key: str | None = Field(default=None, description="API key for openai servers.")
    llm_context: int = Field(default=4096, description="Context window in tokens.")
    llm_threads: int = Field(default=2, description="CPU threads for the embedded LLM.")
    llm_gpu_layers: int = Field(
        default=0,
        description="Layers of the embedded LLM (llamacpp) offloaded to the GPU; -1 offloads "
        "all, 0 keeps it on the CPU. Needs llama-cpp-python built for CUDA or Metal (README).",
    )
    llm_timeout: float = Field(default=120.0, description="Seconds to wait for a server LLM.")
    max_answer_tokens: int = Field(default=200, description="Longest answer, in tokens.")
    top_k: int = Field(default=6, description="Passages retrieved per question.")
    retrieve_candidates: int = Field(
        default=30, description="Chunks taken from each of dense and keyword search."
    )
    keyword_weight: float = Field(
        default=0.01,
        description="Bonus for the question's best keyword (BM25) match, in units of cosine "
        "similarity; 0 turns keyword search off.",
    )
    sentence_weight: float = Field(
        default=0.5,
        description="Share of a passage's best-sentence similarity when re-ranking; 0 turns "
        "sentence re-ranking off.",
    )
    crosslingual_bonus: float = Field(
        default=0.02,
        description="Added to the similarity of passages in another language than the "
        "question's, in units of cosine: multilingual embedders score a passage in the "
        "question's own language higher, which buries the answer in a mixed-language corpus. "
        "0 turns it off.",
    )
    rerank_passages: int = Field(
        default=15,
        description="Top passages re-ranked by their best sentence. Each one not seen before "
        "costs its sentences' embeddings (~0.1 s a passage with the packaged embedder).",
    )
    hypothetical_search: bool = Field(
        default=False,
        description="Search the evidence with the question followed by a short passage the "
        "LLM writes as if it answered it (HyDE), when the question is in the language of its "
        "best passage and not a follow-up: finds answers worded unlike the question "
        "(rag/hypothesis.py). Costs one short LLM call (~1.4-2 s on 2 cores) per such question. "
        "Off by default: it lost the seed article's Dutch question (docs/EVAL.md).",
    )
    evidence_passages: int = Field(default=3, description="Passages the evidence comes from.")
    evidence_sentences: int = Field(default=7, description="Sentences given to the LLM at most.")
    evidence_margin: float = Field(
        default=0.08,
        description="A sentence reaches the LLM only when its similarity to the question is "
        "within this much of the best sentence's.",
    )
    min_evidence_score: float | None = Field(
        default=None,
        description="Abstain without asking the LLM to answer when no evidence sentence is at "
        "least this similar (cosine) to the question. When set, it applies to every LLM; "
        "unset, it is calibrated per embedding model (rag/abstain.py; 0 for models not "
        "calibrated) and used only where the answerability check is not (LLMs without "
        "token probabilities).",
    )
    min_answerability: float | None = Field(
        default=None,
        description="Abstain when the answerability score (best evidence similarity, plus an "
        "offset when question and evidence differ in language, plus a weight x -ln P(the "
        "model opens with 'I don't know'); rag/abstain.py) is below this. Default: "
        "calibrated for the packaged pair; other pairs use the evidence floor alone.",
    )
    max_question_chars: int = Field(default=2000, description="Longest question accepted.")

    @field_validator("llm")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in BACKENDS:
            raise ValueError(
                f"RAG_LLM must be one of {', '.join(BACKENDS)}. Currently, it is {value!r}"
            )
        return name

    @field_validator("llm_gpu_layers")
    @classmethod
    def _gpu_layers(cls, value: int) -> int:
        if value < -1:
            raise ValueError(f"must be -1 (all layers) or more. Currently, it is {value}")
        return value

    @field_validator("keyword_weight", "sentence_weight", "evidence_margin")
    @classmethod
    def _weight(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError(f"must be between 0 and 1. Currently, it is {value}")
        return value

    @field_validator(
        "top_k",
        "evidence_passages",
        "evidence_sentences",
        "max_answer_tokens",
        "retrieve_candidates",
        "rerank_passages",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1. Currently, it is {value}")
        return value


__all__ = ["IndexSettings", "LayerSettings", "RagSettings", "unknown_environment"]
