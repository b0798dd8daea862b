"""The `rag` command: index, ask, ui, eval. User mistakes end in one line, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from index import IndexSettings, Progress, RagError, index_paths


def _fail(message: str, code: int = 2) -> int:
    print(f"rag: error: {message}", file=sys.stderr)
    return code


def _settings_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
    env = "RAG_" + where.split(".")[-1].upper()
    return f"invalid setting {env}: {first.get('msg', exc)}"


def _progress_bar(total_hint: int = 0) -> tuple[Callable[[Progress], None], Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(
        total=total_hint or None, unit="file", file=sys.stderr, dynamic_ncols=True, disable=None
    )

    def update(p: Progress) -> None:
        if bar.total != p.files_total:
            bar.total = p.files_total
        bar.n = p.files_done
        bar.set_postfix_str(f"{p.chunks_done} chunks", refresh=False)
        bar.refresh()

    return update, bar.close


def cmd_index(args: argparse.Namespace) -> int:
    settings = IndexSettings()
    update, close = _progress_bar()
    try:
        report = index_paths(args.paths, settings, progress=update)
    finally:
        close()
    for path, reason in report.failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    print(f"Indexed into {settings.chroma_url or settings.store_dir}: {report.summary()}")
    return 1 if report.failed else 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag import Answer, RagSettings, Token, stream_query

    answer: Answer | None = None
    streamed = False
    for event in stream_query(args.question, RagSettings()):
        if isinstance(event, Token) and not args.json and sys.stdout.isatty():
            print(event.text, end="", flush=True)
            streamed = True
        elif isinstance(event, Answer):
            answer = event
    assert answer is not None
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
        return 0
    if streamed:
        print("\r\033[K", end="")
    print(answer.text)
    for c in answer.citations:
        page = f", page {c.page}" if c.page is not None else ""
        print(f"  [{c.n}] {c.source}{page}: {c.quote or c.text}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import serve

    return serve(host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Chat with your documents, offline.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index files or folders into the store (incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question from the indexed documents")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("ui", help="serve the browser chat")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except RagError as exc:
        return _fail(str(exc))
    except ValidationError as exc:
        return _fail(_settings_error(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
