"""The `rag` command: index, ask, ui, eval. User mistakes end in one line, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from rag import Progress, RagError
from rag.eval.datasets import KINDS
from ui.settings import UISettings

if TYPE_CHECKING:
    from rag import Engine


def _fail(message: str, code: int = 2) -> int:
    print(f"rag: error: {message}", file=sys.stderr)
    return code


def _settings_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    if not where:
        return f"invalid settings: {first.get('msg', exc)}"
    env = "RAG_" + where.split(".")[-1].upper()
    return f"invalid setting {env}: {first.get('msg', exc)}"


def _progress_bar() -> tuple[Callable[[Progress], None], Callable[[], None]]:
    """A stderr bar: files while scanning, then chunks embedded with the indexer's ETA."""
    from tqdm import tqdm

    bar = tqdm(
        unit="",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None,
        bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}",
    )

    def duration(seconds: float) -> str:
        minutes, secs = divmod(round(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

    def update(p: Progress) -> None:
        if p.phase == "scan":
            bar.set_description_str("scanning files", refresh=False)
            bar.total, bar.n = p.files_total, p.files_scanned
            bar.set_postfix_str(f"{p.chunks_total} chunks to embed", refresh=False)
        else:
            bar.set_description_str("embedding chunks", refresh=False)
            bar.total, bar.n = max(p.chunks_total, 1), p.chunks_done
            eta = "?" if p.eta_s is None else duration(p.eta_s)
            bar.set_postfix_str(f"files {p.files_done}/{p.files_total}, ETA {eta}", refresh=False)
        bar.refresh()

    return update, bar.close


def cmd_index(args: argparse.Namespace, settings: UISettings) -> int:
    from rag import get_engine

    engine = get_engine(settings.rag)
    if args.watch:
        return _watch(args.paths, engine)
    update, close = _progress_bar()
    try:
        report = engine.add(args.paths, progress=update)
    finally:
        close()
    for path, reason in report.failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    print(f"Indexed into {engine.status().location}: {report.summary()}")
    return 1 if report.failed else 0


def _watch(paths: list[str], engine: Engine) -> int:
    """Index, then print one line per sync until Ctrl+C (the normal way to stop)."""
    from rag import Sync

    def show(sync: Sync) -> None:
        for path, reason in sync.report.failed:
            print(f"failed: {path}: {reason}", file=sys.stderr)
        print(sync.summary(), flush=True)

    where = engine.status().location
    print(f"Watching {', '.join(paths)} into {where} (Ctrl+C to stop)", flush=True)
    try:
        engine.watch(paths, on_sync=show)
    except KeyboardInterrupt:
        print("Stopped watching.", flush=True)
    return 0


def cmd_ask(args: argparse.Namespace, settings: UISettings) -> int:
    from rag import Answer, Token, stream_query

    answer: Answer | None = None
    live = not args.json and sys.stdout.isatty()
    streamed = ""
    for event in stream_query(args.question, settings.rag, sources=args.doc):
        if isinstance(event, Token):
            if live:
                print(event.text, end="", flush=True)
            streamed += event.text
        else:
            answer = event
    assert answer is not None
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
        return 0
    if live:
        # The final text can differ from the stream (citations renumbered, an abstention).
        print("" if answer.text == streamed.strip() else f"\n=> {answer.text}")
    else:
        print(answer.text)
    for c in answer.citations:
        page = f", page {c.page}" if c.page is not None else ""
        print(f"  [{c.n}] {c.source}{page}: {c.quote or c.text}")
    return 0


def cmd_ui(args: argparse.Namespace, settings: UISettings) -> int:
    from ui.app import serve

    return serve(host=args.host, port=args.port, watch=args.watch, settings=settings)


def cmd_conversations(args: argparse.Namespace, settings: UISettings) -> int:
    """List the kept conversations, or print one as Markdown."""
    import time

    from ui.conversations import ConversationStore

    store = ConversationStore(settings.conversations())
    if args.export:
        conv = store.find(args.export, args.user)
        print(store.markdown(conv.id, args.user), end="")
        return 0
    for c in store.conversations(args.user):
        day = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated))
        print(f"{c.id[:8]}  {day}  {c.turns:3d} q  {c.title}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: UISettings) -> int:
    from rag.eval.report import format_report
    from rag.eval.run import EvalOptions, evaluate

    if args.limit is not None and args.limit < 1:
        return _fail(f"--limit must be at least 1. Currently, it is {args.limit}")
    if args.baseline and args.drop_gold:
        return _fail(
            "--drop-gold measures this engine's abstention only; run it without --baseline"
        )
    options = EvalOptions(
        split=args.split,
        limit=args.limit,
        answer=not args.no_answer,
        drop_gold=args.drop_gold,
        kind=args.kind,
    )
    if args.baseline:
        from rag.eval.baseline import evaluate_baseline

        report = evaluate_baseline(args.dataset, options, settings.rag)
    else:
        report = evaluate(args.dataset, options, settings.rag)
    if args.details:
        with open(args.details, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in report.details())
    summary = report.to_dict()
    print(json.dumps(summary) if args.json else format_report(summary))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Chat with your documents, offline.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index files or folders into the store (incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep indexing: new, changed and deleted files are synced until Ctrl+C",
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question from the indexed documents")
    p.add_argument("question")
    p.add_argument(
        "--doc",
        action="append",
        metavar="PATH",
        help="search only this document, or the documents under this folder (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("ui", help="serve the browser chat")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument(
        "--watch",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH",
        help="keep these folders indexed while the chat runs",
    )
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("conversations", help="list the chat's kept conversations, or export one")
    p.add_argument("--export", metavar="ID", help="print this conversation as Markdown")
    p.add_argument("--user", default="", help="whose conversations (with a chat login)")
    p.set_defaults(func=cmd_conversations)

    p = sub.add_parser("eval", help="measure retrieval and answers on a benchmark folder")
    p.add_argument("dataset", metavar="DATASET_DIR")
    p.add_argument("--split", choices=("dev", "test"), default="test")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument(
        "--kind",
        choices=KINDS,
        help="only the questions of this kind (a document folder's `kind` field)",
    )
    p.add_argument("--no-answer", action="store_true", help="measure retrieval only")
    p.add_argument(
        "--drop-gold",
        action="store_true",
        help="hide each question's relevant passages; the system should abstain",
    )
    p.add_argument(
        "--baseline",
        action="store_true",
        help="measure a plain llama-index VectorStoreIndex with the same embedder and LLM",
    )
    p.add_argument("--details", metavar="FILE", help="write one JSON line per question to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rag.settings import unknown_environment

    for problem in unknown_environment():
        print(f"rag: warning: {problem}; it is ignored.", file=sys.stderr)
    try:
        # The one settings root of the command line, read once and passed down.
        return int(args.func(args, UISettings()))
    except RagError as exc:
        return _fail(str(exc))
    except ValidationError as exc:
        return _fail(_settings_error(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
