"""Ingestion throughput against an embedding server, by how many batches are sent at once.

    .venv/bin/python -m bench.embed_concurrency --chunks 1000 --delay 0.5 --slots 0 4

The server (its own process, the product's index/embed_server.py) stands in for a remote GPU:
every batch costs a fixed `--delay` seconds, whatever its size, and returns cheap deterministic
vectors. `--slots N` lets it work on at most N batches at once (0: no limit), as a real server
saturates; the client's `RAG_EMBED_CONCURRENCY` runs 1, 2, 4 and 8. Each run is `index_paths`
(what `rag index` runs) into a fresh embedded store on SciFact abstracts (bench/ingest.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.ingest import CHUNK_OVERLAP, CHUNK_SIZE, EMBED_BATCH, FastEmbedder, build_corpus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "embed_concurrency.jsonl"
MODEL = FastEmbedder.name


def serve(port: int, delay_s: float, slots: int) -> None:
    """The stand-in GPU server: a fixed delay per batch, at most `slots` batches at once."""
    from index.embed_server import EmbeddingServer

    fast = FastEmbedder()
    gate = threading.BoundedSemaphore(slots) if slots else contextlib.nullcontext()

    def embed(texts: list[str]) -> np.ndarray:
        with gate:
            time.sleep(delay_s)
        return fast.embed_passages(texts)

    server = EmbeddingServer(embed, [MODEL], port=port)
    print(f"serving at {server.url}", flush=True)
    server.serve_forever()


def _start_server(delay_s: float, slots: int) -> tuple[subprocess.Popen[bytes], str]:
    from tests.servers import free_port, wait_until_up

    port = free_port()
    args = ["--serve", str(port), "--delay", str(delay_s), "--slots", str(slots)]
    proc = subprocess.Popen([sys.executable, "-m", "bench.embed_concurrency", *args], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/v1"
    wait_until_up(f"{url}/models", proc, "the benchmark's embedding server", 60)
    return proc, url


def run_once(corpus: Path, url: str, concurrency: int, store: Path) -> dict[str, Any]:
    from index import IndexSettings, Progress, index_paths

    settings = IndexSettings(
        store_dir=store,
        chunk_size=CHUNK_SIZE,
        chunk_overlap=CHUNK_OVERLAP,
        embed_batch=EMBED_BATCH,
        embed_base_url=url,
        embed_model=MODEL,
        embed_concurrency=concurrency,
    )
    marks: dict[str, float] = {}

    def note(p: Progress) -> None:
        marks[p.phase] = time.perf_counter()  # the last event of each phase wins

    started = time.perf_counter()
    report = index_paths([corpus], settings, progress=note)
    total_s = time.perf_counter() - started
    embed_s = marks["done"] - marks.get("scan", started)
    last_write_s = marks["done"] - marks.get("embed", marks["done"])  # after the last batch
    return {
        "concurrency": concurrency,
        "chunks": report.chunks_written,
        "total_s": round(total_s, 2),
        "embed_s": round(embed_s, 2),
        "last_write_s": round(last_write_s, 2),
        "chunks_per_s": round(report.chunks_written / embed_s, 1),
        "whole_run_chunks_per_s": round(report.chunks_written / total_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=1000, help="corpus size (SciFact)")
    parser.add_argument("--delay", type=float, default=0.5, help="server seconds per batch")
    parser.add_argument("--slots", type=int, nargs="+", default=[0, 4])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.delay, args.slots[0])

    corpus, _ = build_corpus(args.chunks)
    rows = []
    for slots in args.slots:
        proc, url = _start_server(args.delay, slots)
        try:
            for concurrency in args.concurrency:
                with tempfile.TemporaryDirectory(prefix="rag-bench-store-") as store:
                    row = run_once(corpus, url, concurrency, Path(store))
                row.update(slots=slots, delay_s=args.delay, batch=EMBED_BATCH)
                row["server_limit_chunks_per_s"] = round(
                    EMBED_BATCH * min(concurrency, slots or concurrency) / args.delay, 1
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    _print_table(rows)


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "\n| server slots | concurrency | chunks/s | speed-up | chunks/s without the last "
        "write | server's limit, chunks/s |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        first = next(r for r in rows if r["slots"] == row["slots"] and r["concurrency"] == 1)
        steady = row["chunks"] / (row["embed_s"] - row["last_write_s"])
        print(
            f"| {row['slots'] or 'no limit'} | {row['concurrency']} | {row['chunks_per_s']} | "
            f"{row['chunks_per_s'] / first['chunks_per_s']:.2f}x | {steady:.1f} | "
            f"{row['server_limit_chunks_per_s']} |"
        )


if __name__ == "__main__":
    main()
