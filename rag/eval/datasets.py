"""Benchmark readers: xquad-style (passages + questions) and BEIR-style (corpus + qrels).

See shared/eval/README.md for the formats. Both become one Dataset: passages to index and
questions that name their relevant passages (and, for QA sets, the accepted answers).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.errors import RagError

SPLITS = ("dev", "test")


class EvalDataError(RagError):
    """A benchmark folder is missing, incomplete or malformed."""


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    relevant: dict[str, int]  # passage id -> graded relevance (> 0)
    answers: tuple[str, ...] = ()  # empty for retrieval-only sets

    def passage_ids(self) -> set[str]:
        return set(self.relevant)


@dataclass(frozen=True)
class Dataset:
    name: str
    split: str
    passages: list[Passage]
    questions: list[Question]

    @property
    def has_answers(self) -> bool:
        return any(q.answers for q in self.questions)


def _records(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{path}:{line_no} is not JSON ({exc.msg}).") from exc


def load_dataset(directory: str | Path, split: str = "test") -> Dataset:
    """Read a benchmark folder in either supported format."""
    root = Path(directory).expanduser()
    if split not in SPLITS:
        raise EvalDataError(
            f"--split must be one of {', '.join(SPLITS)}. Currently, it is {split!r}"
        )
    if (root / "passages.jsonl").is_file():
        return _load_qa(root, split)
    if (root / "corpus.jsonl").is_file():
        return _load_beir(root, split)
    raise EvalDataError(
        f"{root} is not a benchmark folder: expected passages.jsonl + {split}.jsonl "
        "(xquad-style) or corpus.jsonl + queries.jsonl + qrels/ (BEIR-style)."
    )


def _load_qa(root: Path, split: str) -> Dataset:
    questions_file = root / f"{split}.jsonl"
    if not questions_file.is_file():
        have = sorted(p.stem for p in root.glob("*.jsonl") if p.stem in SPLITS)
        raise EvalDataError(
            f"{root} has no {split} split. Available: {', '.join(have) or 'none'} (--split)."
        )
    passages = [
        Passage(str(r["id"]), str(r.get("title", "")), str(r["text"]))
        for r in _records(root / "passages.jsonl")
    ]
    questions = [
        Question(
            id=str(r["id"]),
            text=str(r["question"]),
            relevant={str(r["passage_id"]): 1},
            answers=tuple(str(a) for a in r.get("answers", []) or []),  # type: ignore[attr-defined]
        )
        for r in _records(questions_file)
    ]
    return Dataset(root.name, split, passages, questions)


def _load_beir(root: Path, split: str) -> Dataset:
    qrels_file = root / "qrels" / f"{split}.tsv"
    if not qrels_file.is_file():
        raise EvalDataError(f"{root} has no qrels/{split}.tsv; try --split test.")
    relevant: dict[str, dict[str, int]] = {}
    with qrels_file.open(encoding="utf-8") as fh:
        rows = csv.reader(fh, delimiter="\t")
        next(rows, None)  # header
        for row in rows:
            if len(row) >= 3 and int(row[2]) > 0:
                relevant.setdefault(row[0], {})[row[1]] = int(row[2])
    texts = {str(r["_id"]): str(r["text"]) for r in _records(root / "queries.jsonl")}
    questions = [Question(qid, texts[qid], rel) for qid, rel in relevant.items() if qid in texts]
    # BEIR convention: a document is its title followed by its abstract.
    passages = [
        Passage(
            str(r["_id"]), str(r.get("title", "")), _join(str(r.get("title", "")), str(r["text"]))
        )
        for r in _records(root / "corpus.jsonl")
    ]
    return Dataset(root.name, split, passages, questions)


def _join(title: str, text: str) -> str:
    return f"{title}. {text}" if title else text
