"""Benchmark readers: xquad-style (passages + questions), BEIR-style (corpus + qrels) and
document folders (real files + questions, eval/realdocs/README.md).

See shared/eval/README.md for the first two formats. All become one Dataset: what to index
and questions that name their relevant passages or documents (and, for QA sets, the accepted
answers). In a document folder a question may carry `history` (a follow-up), `kind` and
`lang`, which `rag eval` reports separately.
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


KINDS = ("fact", "number", "crosslingual", "unanswerable", "followup", "why")


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    relevant: dict[str, int]  # passage id (or document path) -> graded relevance (> 0)
    answers: tuple[str, ...] = ()  # empty for retrieval-only sets and unanswerable questions
    kind: str = ""  # reported separately when set (see KINDS)
    lang: str = ""  # ISO 639-1 code of the question's language, when the set gives it
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) turns
    answers_all: tuple[str, ...] = ()  # strings a right reply must all contain
    pages: tuple[int, ...] = ()  # PDF pages holding the answer

    def passage_ids(self) -> set[str]:
        return set(self.relevant)

    @property
    def unanswerable(self) -> bool:
        """The documents do not answer it: the right reply is an abstention."""
        return self.kind == "unanswerable"


@dataclass(frozen=True)
class Dataset:
    name: str
    split: str
    passages: list[Passage]
    questions: list[Question]
    documents: Path | None = None  # a folder of real files to index, instead of passages

    @property
    def has_answers(self) -> bool:
        return any(q.answers or q.unanswerable for q in self.questions)

    def passage_id(self, source: str) -> str:
        """The id a benchmark uses for a retrieved chunk's source."""
        if self.documents is None:
            return source
        path = Path(source)
        root = self.documents.parent.resolve()
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else source

    def source_of(self, passage_id: str) -> str:
        """The store's source for a benchmark id (the inverse of `passage_id`)."""
        if self.documents is None:
            return passage_id
        return str((self.documents.parent / passage_id).resolve())


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
    if (root / "docs").is_dir() and (root / f"{split}.jsonl").is_file():
        return _load_documents(root, split)
    if (root / "passages.jsonl").is_file():
        return _load_qa(root, split)
    if (root / "corpus.jsonl").is_file():
        return _load_beir(root, split)
    raise EvalDataError(
        f"{root} is not a benchmark folder: expected passages.jsonl + {split}.jsonl "
        "(xquad-style), corpus.jsonl + queries.jsonl + qrels/ (BEIR-style) or docs/ + "
        f"{split}.jsonl (a folder of documents)."
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


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EvalDataError(f"expected a list of strings, got {value!r}")
    return tuple(str(v) for v in value)


def _load_documents(root: Path, split: str) -> Dataset:
    questions = []
    for line_no, r in enumerate(_records(root / f"{split}.jsonl"), start=1):
        where = f"{root / split}.jsonl:{line_no}"
        kind = str(r.get("kind", ""))
        if kind and kind not in KINDS:
            raise EvalDataError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}.")
        documents = _strings(r.get("documents"))
        for doc in documents:
            if not (root / doc).is_file():
                raise EvalDataError(f"{where}: document {doc} is not in {root}.")
        history = r.get("history") or []
        if not isinstance(history, list) or not all(
            isinstance(t, list) and len(t) == 2 for t in history
        ):
            raise EvalDataError(f"{where}: history must be a list of [question, answer] pairs.")
        pages = r.get("pages") or []
        if not isinstance(pages, list):
            raise EvalDataError(f"{where}: pages must be a list of page numbers.")
        questions.append(
            Question(
                id=str(r["id"]),
                text=str(r["question"]),
                relevant={d: 1 for d in documents},
                answers=_strings(r.get("answers")),
                kind=kind,
                lang=str(r.get("lang", "")),
                history=tuple((str(q), str(a)) for q, a in history),
                answers_all=_strings(r.get("answers_all")),
                pages=tuple(int(p) for p in pages),
            )
        )
    return Dataset(root.name, split, [], questions, documents=root / "docs")


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
