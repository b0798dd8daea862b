#!/usr/bin/env python3
"""Check every record of the real-document set against the documents' extracted text.

Run with the project's venv (it needs llama-index's readers, pypdf, bs4 and docx2txt):

    .venv/bin/python eval/realdocs/verify.py

eval/independent/verify.py runs the same `check` over its own set.

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
ROOT = HERE.parent.parent
SPLITS = ("dev", "test")
ID_PREFIX = "rd"
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
# Language of each non-English document; every other document is English.
DOC_LANG = {
    "docs/baykar-leonardo-2025-05.nl.txt": "nl",
    "docs/dpkg-deb.1.nl.txt": "nl",
    "docs/sources.list.5.de.txt": "de",
}
MIN_QUESTIONS_PER_DOC = 3
# Strings whose presence in the named documents ("*" = all of docs/) would mean that an
# unanswerable question is answered after all ("re:" marks a regular expression over the
# normalised, lower-cased text). Keyed by the question.
Probes = dict[str, tuple[str | list[str], list[str]]]
ABSENT: Probes = {
    "What windowBits value does deflateInit2() use by default?": (
        "*",
        ["windowBits", "window bits"],
    ),
    "What dictionary size does xz -3 use?": ("*", ["xz -3", "-3 uses", "re:preset[ =]3"]),
    "In which year was XZ Utils 5.0.0 released?": ("*", ["5.0.0", "XZ Utils 5.0"]),
    "On what date was Git 2.39.0 released?": (
        ["docs/git-2.39.0-release-notes.txt"],
        ["2022", "2023", "released on"],
    ),
    "What is the minimum groff version that man-db needs?": (
        ["docs/man-db-README.md", "docs/man-db-faq.txt"],
        ["groff"],
    ),
    "Which minimum Jupyter version does Rich support?": (
        ["docs/rich-README.md"],
        ["jupyter>", "jupyter >", "notebook>=", "ipywidgets", "re:jupyter[^.]{0,40}\\d\\.\\d"],
    ),
    "How much memory does Tomli use while parsing data.toml in its benchmark?": (
        ["docs/tomli-README.md"],
        ["memory", "re:\\b(mib|mb|kb|gb|ram)\\b"],
    ),
    "How long does bm25s take to build the index for the MS MARCO corpus?": (
        ["docs/bm25s-README.md"],
        [
            "indexing time",
            "time to index",
            "re:index(ing|ed)? (took|takes|in) [\\d.]+ ?(s|sec|seconds|min|minutes)\\b",
        ],
    ),
    "Which uid does the sshd user get on Debian?": (
        "*",
        ["re:sshd[^.]{0,80}uid", "re:uid[^.]{0,20}sshd"],
    ),
    "Wie groß ist ein ffi_closure-Objekt auf x86-64 in Bytes?": (
        ["docs/libffi-closure-api.html"],
        ["x86-64", "x86_64", "sizeof(ffi_closure)"],
    ),
    "Which Python 3 version does the Debian Python Policy name as the default for bookworm?": (
        ["docs/python-policy.html"],
        ["3.11", "python3.11", "re:bookworm[^.]{0,60}default"],
    ),
    "What is the maximum size of the root filesystem allowed by FHS 3.0?": (
        ["docs/fhs-3.0.pdf"],
        ["megabytes", "re:\\d+ ?(mb|gb|mib|gib)\\b"],
    ),
    "How fast is the interleaved CRC algorithm on ARM processors?": (
        "*",
        ["re:\\barm\\b", "aarch64", "arm64"],
    ),
    "Wat is de maximale bestandsgrootte die bzip2 1.0.8 kan comprimeren?": (
        ["docs/bzip2-manual.pdf"],
        ["maximum file size", "largest file", "re:files? (larger|bigger) than \\d"],
    ),
    "In which lsof version was the -Q option introduced?": (
        ["docs/lsof-quickstart.docx"],
        ["re:-q[^.]{0,60}(added|introduced|since|revision)"],
    ),
    "How much did Baykar pay for Piaggio Aerospace?": (
        ["docs/baykar-leonardo-2025-05.nl.txt"],
        ["re:\\beuro\\b", "miljoen", "miljard", "$", "€", "dollar"],
    ),
    "Since which APT version is the Signed-By option available in sources.list?": (
        ["docs/sources.list.5.de.txt"],
        ["re:signed-by[^.]{0,120}(seit|since) (version|apt|dem)"],
    ),
    "Since which dpkg version does dpkg-deb support lzma compression?": (
        ["docs/dpkg-deb.1.nl.txt"],
        ["lzma"],
    ),
    "What port does the bm25s MCP server listen on by default?": (
        ["docs/bm25s-README.md"],
        ["default port", "re:port[^.|]{0,30}default", "re:default[^.|]{0,30}port"],
    ),
    "Wie viele Threads verwendet xz standardmäßig bei der Kompression?": (
        "*",
        [
            "default number of threads",
            "threads by default",
            "--threads=",
            "re:default[^.]{0,30}threads",
        ],
    ),
    "In which procps-ng version was control group support added?": (
        ["docs/procps-faq.txt", "docs/procps-bugs.md"],
        ["re:control groups[^.]{0,80}\\d\\.\\d", "re:cgroup"],
    ),
    "In which year did the Baykar Akinci drone first fly?": (
        ["docs/baykar-leonardo-2025-05.nl.txt"],
        ["eerste vlucht", "re:akinci[^.]{0,80}(19|20)\\d\\d"],
    ),
}


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def extract(path: Path) -> list[tuple[int | None, str]]:
    """[(page or None, text)] exactly as the product's loader produces it."""
    sys.path.insert(0, str(ROOT))
    from index.load import load_file

    return [(d.metadata.get("page"), d.text) for d in load_file(path)]


def check(
    here: Path,
    *,
    splits: tuple[str, ...],
    id_prefix: str,
    doc_lang: dict[str, str],
    absent: Probes,
) -> int:
    """Check {split}.jsonl in `here` against its docs/ and print counts; 1 on any problem."""
    logging.disable(logging.WARNING)  # pypdf's font warnings
    problems: list[str] = []

    def report(where: str, rid: object, msg: str) -> None:
        problems.append(f"{where} {rid}: {msg}")

    cache: dict[str, list[tuple[int | None, str]]] = {}

    def pages_of(rel: str) -> list[tuple[int | None, str]]:
        if rel not in cache:
            cache[rel] = [(n, norm(t)) for n, t in extract(here / rel)]
        return cache[rel]

    def whole(rel: str) -> str:
        return " ".join(t for _, t in pages_of(rel))

    doc_files = sorted(
        str(p.relative_to(here))
        for p in (here / "docs").rglob("*")
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
    for split in splits:
        path = here / f"{split}.jsonl"
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
            if not isinstance(rid, str) or not re.fullmatch(rf"{id_prefix}-\d{{3}}", rid):
                bad(f"id must look like {id_prefix}-001")
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
                scope, probes = absent.get(question, (None, None))
                if scope is None:
                    bad("unanswerable without an absence probe in verify.py")
                else:
                    seen_probes.add(question)
                    targets = doc_files if scope == "*" else scope
                    for s in probes:
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
            missing = [d for d in docs if not (here / d).is_file()]
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
            doc_langs = {doc_lang.get(d, "en") for d in docs}
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
    for q in absent:
        if q not in seen_probes:
            problems.append(f"verify.py has an absence probe for a question no record has: {q!r}")

    for split in splits:
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


def main() -> int:
    return check(HERE, splits=SPLITS, id_prefix=ID_PREFIX, doc_lang=DOC_LANG, absent=ABSENT)


if __name__ == "__main__":
    sys.exit(main())
