#!/usr/bin/env python3
"""Check every record of the independent set against the documents' extracted text.

Runs eval/realdocs/verify.py's `check` with this set's settings: the "test" split only
(this set has no dev split), ids "ind-NNN", this folder's docs/ (all English) and its own
absence probes. Run it with the project's venv:

    .venv/bin/python eval/independent/verify.py

Prints counts per kind, per language and per document; exits 1 on any problem.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = ("test",)
ID_PREFIX = "ind"
# Language of each non-English document; every other document is English (all are, here).
DOC_LANG: dict[str, str] = {}
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


def main() -> int:
    sys.path.insert(0, str(HERE.parent.parent))
    from eval.realdocs.verify import check

    return check(HERE, splits=SPLITS, id_prefix=ID_PREFIX, doc_lang=DOC_LANG, absent=ABSENT)


if __name__ == "__main__":
    sys.exit(main())
