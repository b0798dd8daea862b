"""The llama.cpp prefix cache on the packaged model: a prompt's fixed part is read once per
process and survives another prompt (the follow-up rewrite) using the model in between,
without changing what the model writes."""

from __future__ import annotations

import pytest

from rag import RagSettings
from rag.condense import rewrite_messages
from rag.llm import load_llm
from rag.llm.llamacpp import LlamaCppLLM
from rag.prompt import build_messages

pytestmark = pytest.mark.e2e


def _answer_prompt(question: str) -> list[dict[str, str]]:
    messages = build_messages(question, [], "English")
    messages[-1]["content"] = (
        "Sources:\n[1] Baykar kocht het Italiaanse Piaggio Aerospace in 2025.\n\n"
        f"Question: {question}\nAnswer in English."
    )
    return messages


def test_instructions_are_read_once_and_survive_a_rewrite() -> None:
    settings = RagSettings()
    llm = load_llm(settings, settings.index.cache_dir)
    assert isinstance(llm, LlamaCppLLM)
    llm._llm.reset()
    llm.prefixes.clear()
    question = "What did Baykar buy?"
    fresh = "".join(llm.stream(_answer_prompt(question), 24))
    first = llm.calls[-1]
    assert first.reused_tokens == 0 and len(llm.prefixes) == 1
    fixed = len(llm._fixed_prefix(_answer_prompt(question), llm._tokens(_answer_prompt(question))))
    assert fixed >= 100  # the system instructions

    # A rewrite (other instructions) pushes the answer's out of the context ...
    "".join(llm.stream(rewrite_messages("And when?", [(question, fresh)]), 16))
    assert llm.calls[-1].reused_tokens < 10  # "<|im_start|>system\\nYou" at most
    # ... and the next answer prompt gets them back from the cache instead of re-reading.
    again = "".join(llm.stream(_answer_prompt(question), 24))
    assert llm.calls[-1].reused_tokens >= fixed and llm.prefixes.restores >= 1
    assert again == fresh  # the same reply as from a fresh context

    # The probe and the answer of the same prompt share everything but the last token.
    other = _answer_prompt("Which company did Baykar buy?")
    llm.first_token_probability(other, "I don't know")
    "".join(llm.stream(other, 8))
    assert llm.calls[-1].evaluated_tokens == 1
