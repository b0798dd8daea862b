"""When the reply is "the documents do not answer this question": every rule, in one place.

An answer meets the rules in this order:

1. **Before it is written** (`answerable`): with an LLM that reports token probabilities and a
   calibrated (embedder, LLM) pair, the score
   `best evidence similarity + crosslingual (when the question and that best evidence are in
   different languages) + refusal x -ln P(the reply opens with "I don't know")` must reach the
   pair's floor.
   The cross-lingual term is there because one embedding model scores a question against a
   passage in another language lower than against one in its own (multilingual-e5: answering
   evidence ~0.84 for English questions over Dutch XQuAD, ~0.90 over English real documents),
   so one floor without it is too strict on one and too lax on the other.
   Otherwise the best evidence similarity alone must reach the embedder's evidence floor.
   A floor the user sets (`RAG_MIN_EVIDENCE_SCORE`, `RAG_MIN_ANSWERABILITY`) replaces the
   calibrated one. Below it the model is not asked to answer: a small model shown evidence
   near the question but not answering it tends to answer from it anyway.
2. **The model's own refusal** (`is_abstention`, from rag/citations.py).
3. **Grounding** (rag/grounding.py): every sentence of the answer must be held by the source it
   cites (its names and numbers in that source); a sentence that is not is re-cited, cut to
   the opening a source holds, or dropped, and a question that asks for a quantity, version
   or date needs a number in what is left.

`CALIBRATIONS` is the one table of calibrated thresholds; docs/EVAL.md describes how they were
measured and refers here for the values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from index.embed import canonical_model_name
from index.settings import DEFAULT_EMBED_MODEL
from rag.citations import is_abstention
from rag.evidence import Evidence
from rag.language import language_code, passage_language

__all__ = [
    "CALIBRATIONS",
    "EVIDENCE_FLOORS",
    "PACKAGED_LLM",
    "USER_RULE",
    "Calibration",
    "answerability",
    "answerable",
    "crosses_languages",
    "is_abstention",
]

PACKAGED_LLM = "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, packaged)"

# Cosine scales differ between embedding models (e5 packs everything into 0.7-0.9), so the
# evidence floor is per model. multilingual-e5-small on xquad-nl dev: 0.80 abstained on 7% of
# answerable questions and on 51% of questions whose answering passage was removed.
EVIDENCE_FLOORS = {DEFAULT_EMBED_MODEL: 0.80}


@dataclass(frozen=True)
class Calibration:
    """The answerability rule of one (embedding model, LLM) pair (see the module docstring)."""

    floor: float
    refusal: float  # weight of -ln P(refusal)
    crosslingual: float = 0.0  # added when the question and the evidence differ in language


# A floor set by the user for a pair not calibrated here weighs the refusal like this.
USER_RULE = Calibration(floor=0.0, refusal=0.01)

CALIBRATIONS = {
    # Calibrated on the union of realdocs dev (106 answerable, 16 unanswerable) and every
    # 5th xquad-nl dev question asked normally and with its gold passage hidden (60 + 60);
    # docs/EVAL.md "Abstention that transfers".
    (DEFAULT_EMBED_MODEL, PACKAGED_LLM): Calibration(floor=0.8825, refusal=0.01, crosslingual=0.04),
}


def calibration(embed_model: str, llm_name: str) -> Calibration | None:
    return CALIBRATIONS.get((canonical_model_name(embed_model), llm_name))


def answerability(
    best: float, refusal_probability: float, rule: Calibration, crosslingual: bool = False
) -> float:
    """The score rule 1 compares with the floor, from the best evidence similarity."""
    return (
        best
        + rule.crosslingual * crosslingual
        - rule.refusal * math.log(max(refusal_probability, 1e-9))
    )


def answerable(
    question: str,
    evidence: Sequence[Evidence],
    refusal_probability: float | None,
    *,
    embed_model: str,
    llm_name: str,
    min_evidence_score: float | None = None,
    min_answerability: float | None = None,
    signals: dict[str, float] | None = None,
) -> bool:
    """Whether the model is asked to answer `question` from `evidence` (rule 1 above).

    `refusal_probability` is None for LLMs that do not report token probabilities. The
    signals the decision used are written into `signals` (eval reports them).
    """
    signals = {} if signals is None else signals
    best = max(ev.score for ev in evidence)
    signals["evidence"] = best
    signals["pool"] = sum(ev.hit.score for ev in evidence) / len(evidence)
    if min_evidence_score is not None and best < min_evidence_score:
        return False
    rule = calibration(embed_model, llm_name)
    if refusal_probability is None or (rule is None and min_answerability is None):
        floor = min_evidence_score
        if floor is None:
            floor = EVIDENCE_FLOORS.get(canonical_model_name(embed_model), 0.0)
        return best >= floor
    rule = rule or USER_RULE
    # Detected only where the rule uses it: lingua on the question and on the evidence.
    crosslingual = bool(rule.crosslingual) and crosses_languages(question, evidence)
    signals["refusal"] = refusal_probability
    signals["crosslingual"] = float(crosslingual)
    signals["answerability"] = answerability(best, refusal_probability, rule, crosslingual)
    floor = rule.floor if min_answerability is None else min_answerability
    return signals["answerability"] >= floor


def crosses_languages(question: str, evidence: Sequence[Evidence]) -> bool:
    """Whether the question and the passage the best similarity came from differ in language.

    The offset corrects that similarity, so it follows that passage: in a corpus of several
    languages the other evidence may be in the question's language while the answer is not
    (joined, their language decided). The whole passage is read, not its chosen sentences,
    and its names left out: one Dutch sentence listing English team names reads as English.
    """
    best = max(evidence, key=lambda ev: ev.score)
    return language_code(question) != passage_language(best.hit.chunk.text)
