"""`rag eval` on the real benchmark data with the packaged models (slow; marked e2e)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
XQUAD_NL = ROOT.parent / "shared" / "eval" / "xquad-nl"


@pytest.mark.skipif(not XQUAD_NL.is_dir(), reason="shared/eval/xquad-nl is not beside the repo")
def test_retrieval_on_xquad_nl_dev_finds_the_gold_passage() -> None:
    args = ["eval", str(XQUAD_NL), "--split", "dev", "--limit", "20", "--no-answer", "--json"]
    run = subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    report = json.loads(run.stdout)
    assert report["n"] == 20 and report["answer"]["accuracy"] is None
    assert report["retrieval"]["recall@5"] >= 0.9
