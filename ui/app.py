"""The Gradio chat: streamed answers with checkable citations, uploads, document list, status."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from index import SUPPORTED_SUFFIXES, Progress, SettingsError, index_paths, remove_documents
from rag import Answer, Engine, RagError, Token, get_engine
from rag.guard import clean_text
from rag.llm import describe_llm
from ui import render
from ui.settings import UISettings

HERE = Path(__file__).resolve().parent
CSS = (HERE / "static" / "chat.css").read_text(encoding="utf-8")
JS = (HERE / "static" / "chat.js").read_text(encoding="utf-8")

_SAFE_CHARS = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_name(name: str) -> str:
    """A file name that cannot leave the upload folder: no directories, no leading dots."""
    base = re.split(r"[\\/]", name)[-1]
    base = _SAFE_CHARS.sub("_", base).strip(" .")[:120]
    return base or "upload"


class ChatApp:
    """State shared by every browser tab: one engine, one store, one lock for indexing."""

    def __init__(self, settings: UISettings) -> None:
        self.settings = settings
        self.engine: Engine = get_engine(settings.rag)
        self.index_lock = threading.Lock()

    def warm_later(self) -> None:
        threading.Thread(target=self.engine.warm, daemon=True, name="warm").start()

    # --- status & documents -----------------------------------------------------------
    def status(self) -> str:
        files = self.engine.store.files()
        return render.status_markdown(
            len(files),
            self.engine.store.count_chunks(),
            self.engine.embedder.name,
            describe_llm(self.settings.rag),
        )

    def documents(self) -> tuple[list[list[Any]], Any]:
        files = self.engine.store.files()
        rows = [[Path(s).name, r.chunks, s] for s, r in sorted(files.items())]
        return rows, gr.update(
            choices=[(Path(s).name + f"  ({s})", s) for s in sorted(files)], value=[]
        )

    def seed_if_empty(self, progress: gr.Progress | None = None) -> str:
        """First start: index the sample corpus so the chat has something to answer from."""
        with self.index_lock:
            if self.engine.store.count_chunks() > 0 or not self.settings.seed_dir.is_dir():
                return ""
            report = index_paths(
                [self.settings.seed_dir],
                self.settings.rag.index,
                embedder=self.engine.embedder,
                progress=_reporter(progress),
            )
        self.warm_later()
        return f"Indexed the sample documents in `{self.settings.seed_dir}`: {report.summary()}"

    # --- uploads ----------------------------------------------------------------------
    def upload(self, paths: list[str] | None, progress: gr.Progress | None = None) -> str:
        if not paths:
            return ""
        target = self.settings.uploads()
        target.mkdir(parents=True, exist_ok=True)
        accepted, problems = [], []
        limit = self.settings.max_upload_mb * 1024 * 1024
        for raw in paths:
            name = safe_name(Path(raw).name)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                problems.append(
                    (
                        name,
                        f"unsupported type {suffix or '(none)'}; supported: "
                        + ", ".join(sorted(SUPPORTED_SUFFIXES)),
                    )
                )
                continue
            if os.path.getsize(raw) > limit:
                problems.append((name, f"larger than {self.settings.max_upload_mb:g} MB"))
                continue
            dest = (target / name).resolve()
            if dest.parent != target.resolve():  # belt and braces after safe_name
                problems.append((name, "invalid file name"))
                continue
            shutil.copyfile(raw, dest)
            accepted.append(dest)
        report = None
        if accepted:
            with self.index_lock:
                report = index_paths(
                    accepted,
                    self.settings.rag.index,
                    embedder=self.engine.embedder,
                    progress=_reporter(progress),
                )
            problems += [(Path(p).name, why) for p, why in report.failed]
            for p, _ in report.failed:  # a file we cannot read is not kept around
                Path(p).unlink(missing_ok=True)
        lines = []
        if report:
            lines.append(f"Indexed: {report.summary()}")
        lines += [f"- **{escape(n)}** was not indexed: {escape(w)}" for n, w in problems]
        return "\n".join(lines)

    def delete(self, sources: list[str] | None) -> str:
        if not sources:
            return "Choose documents to delete first."
        uploads = self.settings.uploads().resolve()
        with self.index_lock:
            removed = remove_documents(sources, self.settings.rag.index)
            for source in removed:  # our copy of an upload goes too; user folders are untouched
                if Path(source).parent == uploads:
                    Path(source).unlink(missing_ok=True)
        return f"Deleted {len(removed)} document(s)."

    # --- chat -------------------------------------------------------------------------
    def respond(
        self, message: str, chat: list[dict[str, Any]], turns: list[tuple[str, str]]
    ) -> Iterator[tuple[list[dict[str, Any]], list[tuple[str, str]], str, str]]:
        chat = [
            *chat,
            # Lone surrogates would make Gradio's JSON update fail (orjson refuses them).
            {"role": "user", "content": escape(clean_text(message))},
            {"role": "assistant", "content": render.streaming_html("")},
        ]
        yield chat, turns, "", gr.skip()
        try:
            partial = ""
            answer: Answer | None = None
            for event in self.engine.stream(message, turns):
                if isinstance(event, Token):
                    partial += event.text
                    chat[-1] = {"role": "assistant", "content": render.streaming_html(partial)}
                    yield chat, turns, "", gr.skip()
                else:
                    answer = event
        except RagError as exc:
            chat[-1] = {
                "role": "assistant",
                "content": f'<div class="rag-error">{escape(str(exc))}</div>',
            }
            yield chat, turns, "", gr.skip()
            return
        assert answer is not None
        chat[-1] = {"role": "assistant", "content": render.answer_html(answer)}
        turns = [*turns, (answer.question, answer.text)]
        yield chat, turns, "", render.sources_html(answer)


def _reporter(progress: gr.Progress | None) -> Any:
    def report(p: Progress) -> None:
        eta = f", about {p.eta_s:.0f} s left" if p.eta_s is not None else ""
        desc = f"Indexing {Path(p.current).name or 'documents'}: {p.chunks_done}"
        desc += f"/{p.chunks_total} chunks{eta}" if p.chunks_total else " chunks"
        if progress is not None:
            if p.chunks_total:
                progress((p.chunks_done, p.chunks_total), desc=desc, unit="chunks")
            elif p.files_total:
                progress((p.files_done, p.files_total), desc=desc, unit="files")
        print(desc, file=sys.stderr)

    return report


def build_app(settings: UISettings | None = None) -> gr.Blocks:
    """The Blocks app, not yet launched (tests and `serve` launch it)."""
    app = ChatApp(settings or UISettings())
    llm_is_local = app.settings.rag.llm == "llamacpp"

    with gr.Blocks(title="Ask your documents") as demo:
        turns = gr.State([])
        with gr.Row(elem_classes="rag-header"):
            gr.Markdown("### Ask your documents")
            status = gr.Markdown(elem_id="rag-status")
        notice = gr.Markdown(elem_id="rag-notice")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    elem_id="rag-chat",
                    height=560,
                    show_label=False,
                    sanitize_html=True,
                    render_markdown=False,
                    placeholder="Ask a question about your documents.",
                )
                with gr.Row():
                    box = gr.Textbox(
                        elem_id="rag-question",
                        show_label=False,
                        scale=5,
                        placeholder="e.g. What did Baykar acquire in Italy?",
                        autofocus=True,
                        max_length=app.settings.rag.max_question_chars,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
                clear = gr.Button("New conversation", size="sm")
            with gr.Column(scale=2), gr.Tabs():
                with gr.Tab("Sources"):
                    sources = gr.HTML(render.sources_html(None), elem_id="rag-sources")
                with gr.Tab("Documents"):
                    upload = gr.File(
                        label="Add documents",
                        file_count="multiple",
                        file_types=sorted(SUPPORTED_SUFFIXES),
                        elem_id="rag-upload",
                    )
                    upload_result = gr.Markdown(elem_id="rag-upload-result")
                    docs = gr.Dataframe(
                        headers=["Document", "Chunks", "Path"],
                        interactive=False,
                        elem_id="rag-docs",
                        wrap=True,
                    )
                    with gr.Row():
                        pick = gr.Dropdown(
                            label="Delete",
                            multiselect=True,
                            choices=[],
                            elem_id="rag-delete-pick",
                            scale=3,
                        )
                        delete = gr.Button("Delete", variant="stop", scale=1, elem_id="rag-delete")

        gr.on(
            [box.submit, send.click],
            app.respond,
            [box, chat, turns],
            [chat, turns, box, sources],
            # One local LLM: answers queue for it (Gradio shows the place in the queue).
            concurrency_limit=1 if llm_is_local else 4,
            concurrency_id="llm",
        )
        clear.click(lambda: ([], [], render.sources_html(None)), None, [chat, turns, sources])

        def refresh() -> tuple[Any, ...]:
            return (app.status(), *app.documents())

        panels = [status, docs, pick]
        upload.upload(app.upload, [upload], [upload_result], concurrency_id="index").then(
            refresh, None, panels
        ).then(lambda: None, None, [upload])
        delete.click(app.delete, [pick], [upload_result], concurrency_id="index").then(
            refresh, None, panels
        )
        demo.load(app.seed_if_empty, None, [notice], concurrency_id="index").then(
            refresh, None, panels
        )
    demo.queue(default_concurrency_limit=4)
    # Load the LLM and embed the store's sentences while the page opens, not on the first question.
    app.warm_later()
    return demo


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def launch_options(settings: UISettings, host: str, port: int) -> dict[str, Any]:
    options: dict[str, Any] = {
        "server_name": host,
        "server_port": port,
        "css": CSS,
        "head": f"<script>{JS}</script>",
        "max_file_size": f"{settings.max_upload_mb:g}mb",
        "theme": gr.themes.Soft(),
        "show_error": False,
        "footer_links": [],
    }
    if settings.ui_password:
        options["auth"] = (settings.ui_user, settings.ui_password)
    elif not _is_loopback(host):
        raise SettingsError(
            f"Refusing to listen on {host} without a password: anyone on the network could "
            "read your documents. Set RAG_UI_PASSWORD (and optionally RAG_UI_USER), or use "
            "--host 127.0.0.1."
        )
    return options


def serve(host: str = "127.0.0.1", port: int = 7860) -> int:
    settings = UISettings()
    options = launch_options(settings, host, port)
    demo = build_app(settings)
    print(f"Chat at http://{host}:{port} (Ctrl+C to stop)", file=sys.stderr)
    demo.launch(**options)
    return 0
