"""The Chroma store: chunk vectors plus a manifest of indexed files (path -> content hash)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from index.chunk import Chunk, decode_spans
from index.errors import (
    EmptyStoreError,
    ModelMismatchError,
    StoreUnavailableError,
    UnknownSourceError,
)
from index.settings import IndexSettings

# Chroma's own telemetry and default embedder both reach for the network; we pass vectors.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_FILES_SUFFIX = "__files"
# Searches limited to documents holding at most this many chunks compare with each of them
# (about 0.1 s per 1,000 chunks here); larger scopes use Chroma's filtered HNSW search.
_EXACT_SEARCH_CHUNKS = 2000
# Manifest rows carry no meaning as vectors, but Chroma insists every record has one.
_NO_VECTOR = [0.0]
# A manifest record that is no file: a token rewritten by every change of the store, so a
# reader (in this process or another) can tell in one lookup whether anything changed.
_GENERATION = "\x00generation"


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its cosine similarity to the question."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class FileRecord:
    """A manifest row. `pending` is the hash of a version whose write had begun but not ended."""

    source: str
    file_hash: str
    chunks: int
    pending: str = ""


@dataclass(frozen=True)
class FileChunks:
    """One file's new version, ready to be written: its chunks and their vectors."""

    source: str
    file_hash: str
    chunks: list[Chunk]
    vectors: np.ndarray


def _client(settings: IndexSettings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreUnavailableError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({exc}). Start it "
                "with `chroma run --path DIR --host 127.0.0.1`, or unset RAG_CHROMA_URL to use "
                "the embedded store."
            ) from exc
        return client
    try:
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
    except Exception as exc:
        raise StoreUnavailableError(
            f"Cannot open the store at {settings.store_dir} ({exc}). Set RAG_STORE_DIR to a "
            "writable directory."
        ) from exc


class Store:
    """One collection of chunks, tagged with the embedding model that built it."""

    def __init__(
        self, settings: IndexSettings, embed_model: str, *, check_model: bool = True
    ) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self._client = _client(settings)
        self._chunks = self._client.get_or_create_collection(
            name=settings.collection,
            metadata={"hnsw:space": "cosine", "embed_model": embed_model},
            embedding_function=None,
        )
        self._files = self._client.get_or_create_collection(
            name=settings.collection + _FILES_SUFFIX, embedding_function=None
        )
        # Chroma refuses writes larger than this in one call.
        self._batch = min(int(self._client.get_max_batch_size()), 4096)
        built_with = (self._chunks.metadata or {}).get("embed_model")
        mismatch = built_with and built_with != embed_model
        if check_model and mismatch and self._chunks.count() > 0:
            raise ModelMismatchError(
                f"The store at {self.location} was built with embedding model {built_with!r}, "
                f"but {embed_model!r} is configured. Set RAG_EMBED_MODEL={built_with}, or "
                "index into a new store (RAG_STORE_DIR) with the new model."
            )

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.store_dir)

    # --- manifest -------------------------------------------------------------------------
    def files(self) -> dict[str, FileRecord]:
        """Every indexed file, by source path (including ones whose write was interrupted)."""
        got = self._files.get(include=["metadatas"])
        records = {}
        for source, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
            if source == _GENERATION:
                continue
            records[source] = FileRecord(
                source,
                str(meta["file_hash"]),
                int(meta["chunks"]),
                str(meta.get("pending", "")),
            )
        return records

    def count_chunks(self) -> int:
        return int(self._chunks.count())

    # --- writes ---------------------------------------------------------------------------
    # Crash safety rests on one invariant: every chunk's source has a manifest row. Writes
    # add the row (marked pending) before the chunks, deletes remove the chunks before the
    # row; so a run killed at any point leaves rows that the next run redoes or removes.
    # Chroma acknowledges a write only once it is in its SQLite log, and rebuilds its HNSW
    # index from that log on open, so every acknowledged write survives SIGKILL.
    def put_file(
        self, source: str, file_hash: str, chunks: list[Chunk], vectors: np.ndarray
    ) -> None:
        """Replace whatever the store holds for `source` with these chunks."""
        self.put_files([FileChunks(source, file_hash, chunks, vectors)])

    def put_files(self, files: list[FileChunks]) -> None:
        """Replace the stored version of each file, in one round of writes for all of them."""
        if not files:
            return
        known = self._manifest_rows([f.source for f in files])
        self._files.upsert(
            ids=[f.source for f in files],
            embeddings=[_NO_VECTOR] * len(files),
            metadatas=[
                {
                    "file_hash": known.get(f.source, {}).get("file_hash", ""),
                    "chunks": int(known.get(f.source, {}).get("chunks", 0)),
                    "pending": f.file_hash,
                }
                for f in files
            ],
        )
        chunks = [c for f in files for c in f.chunks]
        vectors = np.vstack([f.vectors for f in files if len(f.chunks)] or [np.zeros((0, 1))])
        # New chunks before the old ones go: their ids carry the content hash, so they never
        # collide with the old version, and the file stays answerable throughout the swap.
        for i in range(0, len(chunks), self._batch):
            part = chunks[i : i + self._batch]
            self._chunks.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + self._batch].tolist(),
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
            )
        for f in files:
            if f.source in known:  # a file never seen before has nothing stale to delete
                self._delete_stale(f.source, {c.id for c in f.chunks})
        self._files.upsert(
            ids=[f.source for f in files] + [_GENERATION],
            embeddings=[_NO_VECTOR] * (len(files) + 1),
            metadatas=[
                {"file_hash": f.file_hash, "chunks": len(f.chunks), "pending": ""} for f in files
            ]
            + [_new_generation()],
        )

    def delete_file(self, source: str) -> None:
        self._chunks.delete(where={"source": source})
        self._files.delete(ids=[source])
        self._files.upsert(
            ids=[_GENERATION], embeddings=[_NO_VECTOR], metadatas=[_new_generation()]
        )

    def _manifest_rows(self, sources: list[str]) -> dict[str, dict[str, Any]]:
        got = self._files.get(ids=sources, include=["metadatas"])
        return dict(zip(got["ids"], got["metadatas"] or [], strict=False))

    def _delete_stale(self, source: str, keep: set[str]) -> None:
        # By id rather than by hash: also drops leftovers of an interrupted run that chunked
        # the same content with other settings.
        held = self._chunks.get(where={"source": source}, include=[])["ids"]
        stale = [cid for cid in held if cid not in keep]
        for i in range(0, len(stale), self._batch):
            self._chunks.delete(ids=stale[i : i + self._batch])

    # --- reads ----------------------------------------------------------------------------
    def require_documents(self) -> None:
        if self.count_chunks() == 0:
            raise EmptyStoreError(
                f"The store at {self.location} is empty. Add documents first: "
                "rag index PATH (for example: rag index seeds)"
            )

    def resolve_sources(self, paths: Iterable[str | Path]) -> list[str]:
        """The indexed documents that `paths` name: files exactly, folders by what is under them.

        A path may be relative (to the working directory) or as the store lists it. A path
        under which nothing is indexed is refused with UnknownSourceError.
        """
        indexed = sorted(self.files())
        chosen: set[str] = set()
        unknown = []
        for raw in paths:
            wanted = {Path(str(raw)), Path(str(raw)).expanduser().resolve()}
            found = [s for s in indexed if any(_within(Path(s), w) for w in wanted)]
            if not found:
                unknown.append(str(raw))
            chosen.update(found)
        if unknown:
            names = ", ".join(repr(u) for u in unknown)
            raise UnknownSourceError(
                f"Nothing is indexed at or under {names} in the store at {self.location}. "
                "Give a path as `rag index` indexed it (the chat's Documents tab lists them), "
                f"or index it first: rag index {' '.join(unknown)}"
            )
        return sorted(chosen)

    def search(
        self, vector: np.ndarray, k: int, sources: Collection[str] | None = None
    ) -> list[Hit]:
        """The k chunks nearest to `vector`, best first; only chunks of `sources` if given."""
        if sources and self._chunk_count(sources) <= _EXACT_SEARCH_CHUNKS:
            return self._exact_search(vector, k, sources)
        # No count() first: Chroma returns fewer than k when it holds fewer, and the extra
        # round trip showed up in retrieval latency.
        res = self._chunks.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=_source_filter(sources),
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(_to_chunk(cid, doc, meta), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                res["ids"][0],
                res["documents"][0],
                res["metadatas"][0],
                res["distances"][0],
                strict=False,
            )
        ]

    def _chunk_count(self, sources: Collection[str]) -> int:
        rows = self._manifest_rows(sorted(sources))
        return sum(int(meta.get("chunks", 0)) for meta in rows.values())

    def _exact_search(self, vector: np.ndarray, k: int, sources: Collection[str]) -> list[Hit]:
        # Chosen documents usually hold few chunks: comparing with each of them is cheap and
        # exact, where HNSW with a selective filter can miss records (and Chroma 1.5.9 can
        # leave a record unreachable from its graph: chroma-core/chroma#7758).
        got = self._chunks.get(
            where=_source_filter(sources), include=["documents", "metadatas", "embeddings"]
        )
        if not got["ids"]:
            return []
        sims = np.asarray(got["embeddings"], dtype=np.float32) @ vector.astype(np.float32)
        sims /= np.linalg.norm(got["embeddings"], axis=1) * float(np.linalg.norm(vector)) + 1e-12
        order = np.argsort(-sims)[:k]
        return [
            Hit(_to_chunk(got["ids"][i], got["documents"][i], got["metadatas"][i]), float(sims[i]))
            for i in order
        ]

    def fingerprint(self) -> str:
        """Changes whenever the stored chunks do (one lookup, whatever the store's size).

        Every completed write and every removal rewrites the store's generation token; a
        store written before the token existed falls back to a digest of its manifest.
        """
        got = self._files.get(ids=[_GENERATION], include=["metadatas"])
        if got["ids"]:
            return str((got["metadatas"] or [{}])[0].get("token", ""))
        got = self._files.get(include=["metadatas"])
        rows = sorted(
            f"{source}\0{meta.get('file_hash', '')}\0{meta.get('pending', '')}"
            for source, meta in zip(got["ids"], got["metadatas"] or [], strict=False)
        )
        return hashlib.sha1("\n".join(rows).encode()).hexdigest()

    def chunk_ids(self) -> list[str]:
        """Ids of every stored chunk (they change whenever a file's content does)."""
        return [str(i) for i in self._chunks.get(include=[])["ids"]]

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk, fetched in pages (a Chroma server caps each reply)."""
        out: list[Chunk] = []
        while True:
            got = self._chunks.get(
                include=["documents", "metadatas"], limit=self._batch, offset=len(out)
            )
            out += [
                _to_chunk(cid, doc, meta)
                for cid, doc, meta in zip(
                    got["ids"], got["documents"], got["metadatas"], strict=False
                )
            ]
            if len(got["ids"]) < self._batch:
                return out

    def chunks_of(self, source: str) -> list[Chunk]:
        got = self._chunks.get(where={"source": source}, include=["documents", "metadatas"])
        chunks = [
            _to_chunk(cid, doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=False)
        ]
        return sorted(chunks, key=lambda c: (c.page or 0, c.start))


def _new_generation() -> dict[str, str]:
    return {"token": uuid.uuid4().hex}


def _within(source: Path, wanted: Path) -> bool:
    return source == wanted or source.is_relative_to(wanted)


def _source_filter(sources: Collection[str] | None) -> dict[str, Any] | None:
    """Chroma's `where` for chunks of these sources (the filter runs inside the query)."""
    if not sources:
        return None
    chosen = sorted(sources)
    return {"source": chosen[0]} if len(chosen) == 1 else {"source": {"$in": chosen}}


def _to_chunk(cid: str, text: str, meta: Any) -> Chunk:
    page = int(meta.get("page", -1))
    return Chunk(
        id=cid,
        text=text,
        source=str(meta["source"]),
        title=str(meta.get("title", "")),
        page=page if page >= 0 else None,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        file_hash=str(meta.get("file_hash", "")),
        spans=decode_spans(meta.get("sentences")),
    )
