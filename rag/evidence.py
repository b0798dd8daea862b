"""Evidence selection: the few sentences of the retrieved passages that bear on the question.

A 1.5B model answers well from three short sentences and invents things from whole
passages (DESIGN.md), so the prompt carries sentences, numbered by the passage they are from.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import Embedder, Hit
from index.chunk import Sentence


@dataclass(frozen=True)
class Evidence:
    """A retrieved passage and the sentences of it chosen for the prompt (document order)."""

    hit: Hit
    sentences: tuple[Sentence, ...]
    score: float  # best sentence similarity
    headings: frozenset[int] = frozenset()  # starts of the sentences that are headings

    def lines(self) -> list[str]:
        """The sentences as the prompt shows them: a heading ends in a colon, so
        "dialout: Full and direct access…" reads as the term and its entry."""
        return [f"{s.text}:" if s.start in self.headings else s.text for s in self.sentences]


class SentenceScorer:
    """Scores sentences against a question, caching sentence vectors across questions."""

    def __init__(self, embedder: Embedder, cache_size: int = 20_000) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def query_vector(self, question: str) -> np.ndarray:
        """The question's vector; retrieval and evidence selection embed it once between them."""
        vector = self._queries.get(question)
        if vector is None:
            vector = self._queries[question] = self._embedder.embed_query(question)
            while len(self._queries) > 64:
                self._queries.popitem(last=False)
        return vector

    def vectors(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vec in zip(missing, self._embedder.embed_passages(missing), strict=True):
                self._cache[text] = vec
        for text in texts:
            self._cache.move_to_end(text)  # least recently used goes first
        out = np.vstack([self._cache[t] for t in texts])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out

    def save(self, path: Path) -> None:
        """Keep the cached sentence vectors on disk (eval runs reuse them across processes)."""
        texts = list(self._cache)
        if texts:
            np.savez(path, texts=np.array(texts), vectors=np.vstack(list(self._cache.values())))

    def load(self, path: Path) -> None:
        if path.is_file():
            data = np.load(path)
            for text, vec in zip(data["texts"].tolist(), data["vectors"], strict=True):
                self._cache[str(text)] = vec


def select_evidence(
    question_vec: np.ndarray,
    hits: list[Hit],
    scorer: SentenceScorer,
    max_passages: int,
    max_sentences: int,
    margin: float = 0.06,
    following: int = 1,
    judge_vec: np.ndarray | None = None,
) -> list[Evidence]:
    """Pick up to `max_sentences` sentences from the best `max_passages` passages.

    Each Evidence's score is its best chosen sentence's similarity to `question_vec`, or to
    `judge_vec` when given: the question as asked, when the sentences were chosen with it
    expanded (the answerability floor is calibrated on similarity to the question alone).

    A sentence is kept when it is among the best overall and within `margin` of the best
    sentence, so weakly related padding does not reach the model. Passages keep their rank.
    In the best passage, the `following` sentences after each chosen one come along: the
    sentence most like the question often only sets up the answer ("He is the oldest
    quarterback ever to play…" / "The previous record was held by John Elway"). On xquad-nl
    dev that raised the share of questions whose evidence holds an answer from 0.890 to 0.927.
    A chosen sentence also brings the heading or defined term it sits under ("dialout" above
    "Full and direct access to serial ports."), and lines that are not prose (contents
    leaders, rules, key blocks) are never chosen: realdocs dev 93 -> 94 of 122 right.
    """
    passages = hits[:max_passages]
    split = [
        h.chunk.sentences() or [Sentence(h.chunk.text, 0, len(h.chunk.text))] for h in passages
    ]
    # Overlapping chunks repeat sentences; each sentence is scored once, in its best passage.
    seen: set[str] = set()
    flat = []
    for i, sents in enumerate(split):
        for s in sents:
            if s.text not in seen and _readable(s.text):
                seen.add(s.text)
                flat.append((i, s))
    if not flat:
        return []
    vectors = scorer.vectors([s.text for _, s in flat])
    scores = vectors @ question_vec
    judged = scores if judge_vec is None else vectors @ judge_vec
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    chosen: dict[int, list[tuple[Sentence, float]]] = {}
    for idx in order[:max_sentences]:
        if float(scores[idx]) < best - margin and chosen:
            break
        i, sentence = flat[idx]
        chosen.setdefault(i, []).append((sentence, float(judged[idx])))
    top = min(chosen)
    picked = {i: [s for s, _ in chosen[i]] for i in chosen}
    elsewhere = {s.text for i, group in picked.items() if i != top for s in group}
    picked[top] = [
        s for s in _with_following(split[top], picked[top], following) if s.text not in elsewhere
    ]
    headings = {i: _headings(passages[i].chunk.text, split[i], picked[i]) for i in picked}
    return [
        Evidence(
            hit=passages[i],
            sentences=tuple(sorted(picked[i] + headings[i][0], key=lambda s: s.start)),
            score=max(sc for _, sc in chosen[i]),
            headings=headings[i][1],
        )
        for i in sorted(chosen)
    ]


# A run of dots (a table of contents' leaders) or a base64 line (an armoured PGP key).
_NOT_PROSE = re.compile(r"\.{5}|[A-Za-z0-9+/]{40,}")
_CODE = re.compile(r"[{}()=<>;$`\[\]/\\]")
_HEADING_REACH = 4  # sentences: a chosen sentence this far under a heading brings it along


def _readable(text: str) -> bool:
    """Whether a sentence is read rather than looked at: not a rule of dashes, a contents
    line of dot leaders or a line of a PGP key, which took evidence places from prose."""
    if not any(c.isalnum() for c in text):
        return False
    for match in _NOT_PROSE.finditer(text):
        run = match.group(0)
        if run[0] == "." or _looks_random(run):
            return False
    return True


def _looks_random(run: str) -> bool:
    """Base64 mixes cases and digits throughout; a long path or identifier does not."""
    upper = sum(c.isupper() for c in run)
    digits = sum(c.isdigit() for c in run)
    return upper >= 5 and digits >= 3 and len(run) - upper - digits >= 5


def _is_heading(text: str, sentences: list[Sentence], j: int) -> bool:
    """Whether sentence `j` is a heading or a defined term: a few words standing as a
    paragraph of their own ("dialout" above "Full and direct access to serial ports.")."""
    line = sentences[j].text
    if len(line) > 60 or len(line.split()) > 6 or line[-1] in ".!?…,;:":
        return False
    if not any(c.isalpha() for c in line) or _CODE.search(line):
        return False
    before = text[sentences[j - 1].end : sentences[j].start] if j else "\n\n"
    after = text[sentences[j].end : sentences[j + 1].start] if j + 1 < len(sentences) else ""
    return before.count("\n") >= 2 and after.count("\n") >= 2


def _headings(
    text: str, sentences: list[Sentence], chosen: list[Sentence]
) -> tuple[list[Sentence], frozenset[int]]:
    """The heading each chosen sentence sits under, when it is near (a list of groups or
    options says whose entry a sentence is only in the term above it), and which shown
    headings head a shown sentence (those the prompt ends with a colon)."""
    heading = [_is_heading(text, sentences, k) for k in range(len(sentences))]
    shown = {c.start for c in chosen}
    added: list[Sentence] = []
    for j, sentence in enumerate(sentences):
        if sentence.start not in shown or heading[j]:
            continue
        for k in range(j - 1, max(-1, j - 1 - _HEADING_REACH), -1):
            if heading[k]:
                if sentences[k].start not in shown:
                    shown.add(sentences[k].start)
                    added.append(sentences[k])
                break
    heads = set()
    for k, sentence in enumerate(sentences):
        if heading[k] and sentence.start in shown:
            for entry in range(k + 1, min(len(sentences), k + 1 + _HEADING_REACH)):
                if heading[entry]:
                    break
                if sentences[entry].start in shown:
                    heads.add(sentence.start)
                    break
    return added, frozenset(heads)


def _with_following(sentences: list[Sentence], chosen: list[Sentence], n: int) -> list[Sentence]:
    """The chosen sentences plus the `n` sentences after each one in the passage."""
    original = {c.start for c in chosen}
    kept = set(original)
    extra: list[Sentence] = []
    for i, s in enumerate(sentences):
        if s.start in original:
            for x in sentences[i + 1 : i + 1 + n]:
                if x.start not in kept:
                    kept.add(x.start)
                    extra.append(x)
    return [*chosen, *extra]
