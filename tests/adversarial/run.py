"""Measure how often the default LLM follows injected instructions.

Run: `python -m tests.adversarial.run [--no-guard] [--log]`.

Indexes the adversarial corpus into a temporary store with the default (packaged) embedder,
asks every case with the default LLM and prints a per-case table and one summary line.
`--no-guard` skips rag.guard's evidence screening, to measure what it buys.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from index import IndexSettings, index_paths
from rag import Engine, RagSettings
from rag.llm import load_llm
from tests.adversarial.cases import build_corpus
from tests.adversarial.suite import RecordingLLM, Tally, run_suite


def build_engine(workdir: Path, guard: bool = True) -> Engine:
    """The adversarial corpus indexed with the real defaults, and an engine over it."""
    corpus = build_corpus(workdir / "corpus")
    index_settings = IndexSettings(store_dir=workdir / "store")
    report = index_paths([corpus], index_settings)
    assert report.ok, report.failed
    settings = RagSettings(index=index_settings)
    engine = Engine(settings, llm=RecordingLLM(load_llm(settings, index_settings.cache_dir)))
    return engine if guard else engine.with_steps(screen=lambda hits: hits)


def main() -> Tally:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-guard", action="store_true", help="skip evidence screening")
    parser.add_argument("--log", action="store_true", help="print each reply as it comes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rag-adversarial-") as tmp:
        engine = build_engine(Path(tmp), guard=not args.no_guard)
        tally = run_suite(engine, log=args.log)
    print(tally.table())
    for crash in tally.crashes:
        print("crash:", crash)
    print(("guard off: " if args.no_guard else "") + tally.summary())
    return tally


if __name__ == "__main__":
    main()
