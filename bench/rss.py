"""Peak RSS of one process with the default models loaded and a question answered.

    .venv/bin/python -m bench.rss

Indexes seeds/ into a temporary store with the default (packaged) embedder, then answers a
question with the default LLM through `rag.query`, as `rag ui` does per message.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from rag import IndexSettings, RagSettings, get_engine, query

    settings = RagSettings(index=IndexSettings(store_dir=tempfile.mkdtemp(prefix="bench-rss-")))
    steps = {"imports": _rss_mb()}
    engine = get_engine(settings)
    engine.add([ROOT / "seeds"])
    steps["embedder_and_index"] = _rss_mb()
    engine.llm  # noqa: B018 - loads the model
    steps["llm_loaded"] = _rss_mb()
    t = time.perf_counter()
    answer = query("What did Baykar acquire in Italy?", settings)
    steps["after_query"] = _rss_mb()
    print(
        json.dumps(
            {
                "peak_rss_mb": steps,
                "query_s": round(time.perf_counter() - t, 2),
                "answer": answer.text,
            }
        )
    )


if __name__ == "__main__":
    main()
