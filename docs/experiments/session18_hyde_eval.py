"""`rag eval` with HyDE: the evidence is searched for with the question followed by a short
passage the LLM writes as if it answered it; the prompt still carries the question alone.
An experiment of session 18, not part of the product (docs/EVAL.md, "Tried, not kept").

    .venv/bin/python docs/experiments/session18_hyde_eval.py eval eval/realdocs --split dev \\
        --json --details F
    .venv/bin/python docs/experiments/session18_hyde_eval.py --same-language eval ...

`--same-language`: only when the question is in the language of the best passage found for
the question alone (cross-lingual questions are searched as before).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "eval"))

from evidence_reach import hypothesis

from rag.engine import Engine
from rag.language import language_code, passage_language
from ui.cli import main

SAME_LANGUAGE = "--same-language" in sys.argv
_searched_by_question = Engine._evidence


def _evidence(self: Engine, question: str, scope: list[str] | None) -> object:
    if SAME_LANGUAGE:
        hits = self._retrieve(question, scope)
        asked = language_code(question)
        if not hits or asked is None or passage_language(hits[0].chunk.text) != asked:
            return _searched_by_question(self, question, scope)
    passage = "".join(self.llm.stream(hypothesis(question), 60)).strip()
    return _searched_by_question(self, f"{question} {passage}", scope)


if __name__ == "__main__":
    Engine._evidence = _evidence  # type: ignore[method-assign,assignment]
    sys.argv = ["rag", *(a for a in sys.argv[1:] if a != "--same-language")]
    main()
