#!/usr/bin/env python3
"""Check every record of the independent set against the documents' extracted text.

A copy of eval/realdocs/verify.py, changed only where this set differs: it checks the
"test" split only (this set has no dev split), ids "ind-NNN", this folder's docs/ (all
English) and its own absence probes. Run it with the project's venv:

    .venv/bin/python eval/independent/verify.py

Text is extracted by the product's own loader (`index.load.load_file`: PDFs page by page,
a page's number being its page_label when that is all digits, else its 1-based index).
Matching is case-insensitive on whitespace- and NFKC-normalised text (every run of whitespace
is one space; PDF ligatures such as "ﬁ" read as "fi"). Prints counts per kind, per language
and per document; exits 1 on any problem.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = ("test",)
KINDS = {"fact", "number", "crosslingual", "unanswerable", "followup", "why"}
LANGS = {"en", "nl", "de"}
KEYS = {
    "id",
    "question",
    "lang",
    "kind",
    "answers",
    "answers_all",
    "documents",
    "pages",
    "evidence",
    "history",
    "note",
}
# Language of each non-English document; every other document is English (all are, here).
DOC_LANG: dict[str, str] = {}
MIN_QUESTIONS_PER_DOC = 3
# Strings whose presence in the named documents ("*" = all of docs/) would mean that an
# unanswerable question is answered after all ("re:" marks a regular expression over the
# normalised, lower-cased text). Keyed by the question.
ABSENT: dict[str, tuple[str | list[str], list[str]]] = {
    "What is the numeric value of ASN1_MAX_NAME_SIZE in libtasn1?": (
        "*",
        [
            "re:name_size\\)? ?(=|is|equals|of|defined as) ?\\d",
            "re:define asn1_max_name_size",
            "re:name_size \\d",
        ],
    ),
    "What is the minimum Node.js version that this semver release supports?": (
        ["docs/semver-README.md"],
        [
            "engines",
            "requires node",
            "re:\\bnode(\\.js|js)? ?(>=|\\^|~|v)? ?\\d",
            "re:node(\\.js)? version",
        ],
    ),
    "In which Valgrind release was the --keep-debuginfo option added?": (
        "*",
        [
            "re:keep-debuginfo[^.]{0,80}\\d\\.\\d",
            "re:\\d\\.\\d+(\\.\\d+)?[^.]{0,80}keep-debuginfo",
        ],
    ),
    "On what date was version 3 of the GNU Affero General Public License published?": (
        "*",
        ["re:affero[^.]{0,160}(19|20)\\d\\d", "re:(19|20)\\d\\d[^.]{0,80}affero"],
    ),
}


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def extract(path: Path) -> list[tuple[int | None, str]]:
    """[(page or None, text)] exactly as the product's loader produces it."""
    sys.path.insert(0, str(HERE.parent.parent))
    from index.load import load_file

    return [(d.metadata.get("page"), d.text) for d in load_file(path)]


def main() -> int:
    logging.disable(logging.WARNING)  # pypdf's font warnings
    problems: list[str] = []

    def report(where: str, rid: object, msg: str) -> None:
        problems.append(f"{where} {rid}: {msg}")

    cache: dict[str, list[tuple[int | None, str]]] = {}

    def pages_of(rel: str) -> list[tuple[int | None, str]]:
        if rel not in cache:
            cache[rel] = [(n, norm(t)) for n, t in extract(HERE / rel)]
        return cache[rel]

    def whole(rel: str) -> str:
        return " ".join(t for _, t in pages_of(rel))

    doc_files = sorted(
        str(p.relative_to(HERE))
        for p in (HERE / "docs").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    for rel in doc_files:
        try:
            if not whole(rel):
                problems.append(f"{rel}: no text extracted")
        except Exception as exc:  # report and go on
            problems.append(f"{rel}: cannot be read ({type(exc).__name__}: {exc})")

    seen_ids: set[str] = set()
    seen_probes: set[str] = set()
    per_doc: Counter[str] = Counter()
    stats: dict[str, dict[str, Counter]] = {}
    for split in SPLITS:
        path = HERE / f"{split}.jsonl"
        kinds: Counter[str] = Counter()
        langs: Counter[str] = Counter()
        extra: Counter[str] = Counter()
        stats[split] = {"kind": kinds, "lang": langs, "extra": extra}
        if not path.exists():
            problems.append(f"{split}.jsonl is missing")
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{split}.jsonl:{lineno}"
            if not line.strip():
                problems.append(f"{where}: empty line")
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON ({exc})")
                continue

            bad = partial(report, where, rec.get("id"))

            unknown = set(rec) - KEYS
            if unknown:
                bad(f"unknown keys {sorted(unknown)}")
            rid, kind, lang = rec.get("id"), rec.get("kind"), rec.get("lang")
            if not isinstance(rid, str) or not re.fullmatch(r"ind-\d{3}", rid):
                bad("id must look like ind-001")
            elif rid in seen_ids:
                bad("duplicate id")
            seen_ids.add(rid)
            if kind not in KINDS:
                bad(f"invalid kind {kind!r}")
            if lang not in LANGS:
                bad(f"invalid lang {lang!r}")
            question = rec.get("question")
            if not isinstance(question, str) or len(question.strip()) < 8:
                bad("question missing or too short")
            answers = rec.get("answers")
            docs = rec.get("documents")
            evidence = rec.get("evidence", "")
            answers_all = rec.get("answers_all")
            pages = rec.get("pages")
            history = rec.get("history")
            if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
                bad("answers must be a list of strings")
                continue
            if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
                bad("documents must be a list of strings")
                continue
            kinds[kind] += 1
            langs[lang] += 1

            # history: only and always for followups
            if kind == "followup":
                ok = (
                    isinstance(history, list)
                    and 1 <= len(history) <= 2
                    and all(
                        isinstance(t, list)
                        and len(t) == 2
                        and all(isinstance(s, str) and s.strip() for s in t)
                        for t in history
                    )
                )
                if not ok:
                    bad("followup needs history: 1-2 [question, answer] pairs")
                elif not any("[1]" in t[1] for t in history):
                    bad("history answers should carry [1]-style citation markers")
            elif history is not None:
                bad("history is only for kind followup")

            if kind == "unanswerable":
                if answers or docs or answers_all or pages:
                    bad(
                        "unanswerable needs answers == [], documents == [] and no answers_all/pages"
                    )
                scope, absent = ABSENT.get(question, (None, None))
                if scope is None:
                    bad("unanswerable without an absence probe in verify.py")
                else:
                    seen_probes.add(question)
                    targets = doc_files if scope == "*" else scope
                    for s in absent:
                        for rel in targets:
                            text = whole(rel)
                            hit = re.search(s[3:], text) if s.startswith("re:") else norm(s) in text
                            if hit:
                                bad(f"probe {s!r} matches {rel}: is it answered after all?")
                continue

            # answerable kinds
            if not answers:
                bad("answerable record without answers")
                continue
            if not docs:
                bad("answerable record without documents")
                continue
            for a in answers + (answers_all or []):
                if len(a.strip()) < 2 and not a.strip().isdigit():
                    bad(f"answer {a!r} is too short to judge by substring")
            missing = [d for d in docs if not (HERE / d).is_file()]
            if missing:
                bad(f"documents not found: {missing}")
                continue
            if any(d not in doc_files for d in docs):
                bad("documents must be under docs/")
                continue
            for d in docs:
                per_doc[d] += 1
            texts = [whole(d) for d in docs]
            if not any(norm(a) in t for a in answers for t in texts):
                bad(f"no accepted answer occurs in {docs}: {answers}")
            if answers_all is not None:
                if not isinstance(answers_all, list) or len(answers_all) < 2:
                    bad("answers_all must list at least two strings")
                else:
                    for a in answers_all:
                        if not any(norm(a) in t for t in texts):
                            bad(f"answers_all string {a!r} not in {docs}")
            if kind == "why" and not answers_all:
                bad("why questions need answers_all")
            if not isinstance(evidence, str) or len(evidence.strip()) < 10:
                bad("evidence missing")
            elif not any(norm(evidence) in t for t in texts):
                bad(f"evidence not found verbatim in {docs}: {evidence[:80]!r}")

            # language of question vs documents
            doc_langs = {DOC_LANG.get(d, "en") for d in docs}
            if kind == "crosslingual":
                if lang in doc_langs:
                    bad(f"crosslingual question in {lang} over documents in {sorted(doc_langs)}")
            elif kind in ("fact", "number", "why") and (lang != "en" or doc_langs != {"en"}):
                bad(f"{kind} questions are English over English documents")
            if kind == "crosslingual":
                extra[
                    "crosslingual to en docs"
                    if doc_langs == {"en"}
                    else "crosslingual to nl/de docs"
                ] += 1

            # PDF pages
            pdf_docs = [d for d in docs if d.endswith(".pdf")]
            if pdf_docs:
                extra["pdf"] += 1
                if (
                    not isinstance(pages, list)
                    or not pages
                    or not all(isinstance(p, int) for p in pages)
                ):
                    bad("PDF answer needs pages: a list of page numbers")
                else:
                    on_pages = [t for d in pdf_docs for n, t in pages_of(d) if n in pages]
                    if not on_pages:
                        bad(f"pages {pages} do not exist in {pdf_docs}")
                    else:
                        if not any(norm(evidence) in t for t in on_pages):
                            bad(f"evidence not on pages {pages}")
                        if not any(norm(a) in t for a in answers for t in on_pages):
                            bad(f"no accepted answer on pages {pages}")
                        for a in answers_all or []:
                            if not any(norm(a) in t for t in on_pages):
                                bad(f"answers_all {a!r} not on pages {pages}")
            elif pages is not None:
                bad("pages only for PDF answers")

    for rel in doc_files:
        if per_doc[rel] < MIN_QUESTIONS_PER_DOC:
            want = MIN_QUESTIONS_PER_DOC
            problems.append(f"{rel}: only {per_doc[rel]} questions (want >= {want})")
    for q in ABSENT:
        if q not in seen_probes:
            problems.append(f"verify.py has an absence probe for a question no record has: {q!r}")

    for split in SPLITS:
        s = stats[split]
        total = sum(s["kind"].values())
        print(f"{split}: {total} questions")
        print("  per kind: " + ", ".join(f"{k} {v}" for k, v in sorted(s["kind"].items())))
        print("  per lang: " + ", ".join(f"{k} {v}" for k, v in sorted(s["lang"].items())))
        print("  of which: " + ", ".join(f"{k} {v}" for k, v in sorted(s["extra"].items())))
    words = defaultdict(int)
    for rel in doc_files:
        words[rel] = sum(len(t.split()) for _, t in pages_of(rel))
    print(f"documents: {len(doc_files)}, {sum(words.values())} words")
    for rel in doc_files:
        pdf = f", {len(pages_of(rel))} pages" if rel.endswith(".pdf") else ""
        print(f"  {rel}: {per_doc[rel]} questions, {words[rel]} words{pdf}")

    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print("\nall records check out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
