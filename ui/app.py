"""The Gradio chat: streamed answers with checkable citations, kept conversations, cited
PDF pages, documents (uploads, list, delete, folder watch) and a status line."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import gradio as gr

from rag import SUPPORTED_SUFFIXES, SettingsError
from ui import render
from ui.chat import Session, user_of
from ui.conversations import ConversationNotFoundError
from ui.library import ChatApp, safe_name
from ui.settings import UISettings

HERE = Path(__file__).resolve().parent
CSS = (HERE / "static" / "chat.css").read_text(encoding="utf-8")
JS = (HERE / "static" / "chat.js").read_text(encoding="utf-8")
REFRESH_SECONDS = 2.0  # how often open tabs look for documents changed elsewhere

__all__ = ["ChatApp", "build_app", "launch_options", "safe_name", "serve"]


def build_app(settings: UISettings | None = None, watch: Sequence[str | Path] = ()) -> gr.Blocks:
    """The Blocks app, not yet launched (tests and `serve` launch it)."""
    app = ChatApp(settings or UISettings(), watch)
    llm_is_local = app.settings.rag.llm == "llamacpp"
    conversations = app.chat

    with gr.Blocks(title="Ask your documents", fill_width=True) as demo:
        session = gr.State(Session())
        pending = gr.State(None)  # the question between looking and answering
        seen = gr.State(-1)  # the documents' generation this tab shows
        opened = gr.BrowserState(None, storage_key="rag-conversation")
        with gr.Row(elem_classes="rag-header"):
            gr.Markdown("### Ask your documents")
            status = gr.Markdown(elem_id="rag-status")
        notice = gr.Markdown(elem_id="rag-notice")
        with gr.Row():
            with gr.Column(scale=1, min_width=230, elem_id="rag-sidebar"):
                new = gr.Button("New conversation", size="sm", elem_id="rag-new")
                listing = gr.Radio(
                    label="Conversations", choices=[], elem_id="rag-convs", interactive=True
                )
                title = gr.Textbox(label="Name", elem_id="rag-conv-title", max_length=120)
                with gr.Row():
                    rename = gr.Button("Rename", size="sm", elem_id="rag-rename")
                    forget = gr.Button(
                        "Delete", size="sm", variant="stop", elem_id="rag-conv-delete"
                    )
                export = gr.DownloadButton(
                    "Download as Markdown", size="sm", interactive=False, elem_id="rag-export"
                )
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    elem_id="rag-chat",
                    height=560,
                    show_label=False,
                    sanitize_html=True,
                    render_markdown=False,
                    placeholder="Ask a question about your documents.",
                )
                with gr.Row(elem_id="rag-scope-row"):
                    scope = gr.Dropdown(
                        label="Search within",
                        info="Empty: all documents. Pick documents or folders to ask only them.",
                        multiselect=True,
                        choices=[],
                        elem_id="rag-scope",
                        scale=5,
                    )
                    everything = gr.Button(
                        "All documents", size="sm", scale=1, elem_id="rag-scope-clear"
                    )
                with gr.Row():
                    box = gr.Textbox(
                        elem_id="rag-question",
                        show_label=False,
                        scale=5,
                        placeholder="e.g. What did Baykar acquire in Italy?",
                        autofocus=True,
                        max_length=app.settings.rag.max_question_chars,
                        interactive=False,  # until the page load below has restored this tab
                    )
                    send = gr.Button(
                        "Ask", variant="primary", scale=1, elem_id="rag-ask", interactive=False
                    )
            with gr.Column(scale=2), gr.Tabs():
                with gr.Tab("Sources", id="sources"):
                    caption = gr.HTML("", elem_id="rag-page-caption")
                    page = gr.Image(
                        visible=False,
                        interactive=False,
                        show_label=False,
                        type="pil",
                        format="png",
                        elem_id="rag-page",
                    )
                    with gr.Row(visible=False) as page_views:
                        part = gr.Button("Cited part", size="sm", elem_id="rag-page-part")
                        whole = gr.Button("Whole page", size="sm", elem_id="rag-page-whole")
                    sources = gr.HTML(render.sources_html(None), elem_id="rag-sources")
                    # chat.js fills these when [n] is clicked: "answer index:n".
                    cite_key = gr.Textbox(visible="hidden", elem_id="rag-cite-key")
                    cite_go = gr.Button(visible="hidden", elem_id="rag-cite-go")
                with gr.Tab("Documents", id="documents"):
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
        timer = gr.Timer(REFRESH_SECONDS)

        # --- asking ---------------------------------------------------------------------
        def saved(state: Session, request: gr.Request) -> tuple[Any, ...]:
            """After an answer: the list, the tab's open conversation, the export file."""
            user = user_of(request)
            path = conversations.export(state, user)
            return (
                conversations.listing(user, state),
                state.conversation,
                gr.update(value=path, interactive=path is not None),
                gr.update(value=conversations.title(state, user)),
            )

        # Looking (search, evidence: no model) runs at once, so the passages show while the
        # answer waits; answers queue for one local LLM (Gradio shows the place in the queue
        # on the chat, leaving the passages in view).
        gr.on(
            [box.submit, send.click],
            conversations.look,
            [box, chat, session, scope],
            [chat, box, sources, pending],
            concurrency_limit=4,
            concurrency_id="look",
            show_progress="hidden",
        ).then(
            conversations.answer,
            [pending, chat, session, scope],
            [chat, session, sources],
            concurrency_limit=1 if llm_is_local else 4,
            concurrency_id="llm",
            show_progress_on=[chat],
        ).then(saved, [session], [listing, opened, export, title])
        # The same in one call for programs (gradio_client: api_name="/respond").
        whole_answer = gr.Button(visible=False)
        whole_answer.click(
            conversations.respond,
            [box, chat, session, scope],
            [chat, session, box, sources],
            api_name="respond",
            concurrency_limit=1 if llm_is_local else 4,
            concurrency_id="llm",
        ).then(saved, [session], [listing, opened, export, title])
        everything.click(lambda: gr.update(value=[]), None, [scope])
        page_outputs = [page, caption, sources, page_views]
        cite_go.click(conversations.page, [cite_key, session], page_outputs, queue=False)
        part.click(conversations.page, [cite_key, session], page_outputs, queue=False)
        whole.click(
            lambda key, state: conversations.page(key, state, whole=True),
            [cite_key, session],
            page_outputs,
            queue=False,
        )

        # --- conversations --------------------------------------------------------------
        def show(cid: str | None, request: gr.Request) -> tuple[Any, ...]:
            """Open conversation `cid` (None: a new, empty one) in this tab."""
            user = user_of(request)
            chat_value: list[dict[str, Any]] = []
            state, note = Session(), ""
            if cid:
                try:
                    chat_value, state = conversations.open(cid, user)
                except ConversationNotFoundError as exc:
                    note = str(exc)
            last = state.answers[-1] if state.answers else None
            path = conversations.export(state, user)
            return (
                chat_value,
                state,
                render.sources_html(last),
                gr.update(value=list(state.scopes[-1]) if state.scopes else []),
                conversations.listing(user, state),
                gr.update(value=conversations.title(state, user)),
                gr.update(value=path, interactive=path is not None),
                state.conversation,
                gr.update(value=None, visible=False),
                "",
                gr.update(visible=False),
                note,
            )

        shown = [chat, session, sources, scope, listing, title, export, opened, page, caption]
        shown += [page_views]
        listing.input(show, [listing], [*shown, notice])

        def fresh(request: gr.Request) -> tuple[Any, ...]:
            return show(None, request)

        def restore(cid: str | None, request: gr.Request) -> tuple[Any, ...]:
            """On page load: the conversation this tab had open (quietly none if deleted)."""
            *shown_values, _note = show(cid, request)
            return (*shown_values, "")

        new.click(fresh, None, [*shown, notice])

        def renamed(state: Session, name: str, request: gr.Request) -> tuple[Any, ...]:
            user = user_of(request)
            if state.conversation is None:
                return gr.skip(), gr.skip(), "Ask a question first: that starts a conversation."
            try:
                conversations.store.rename(state.conversation, user, name)
            except ConversationNotFoundError as exc:
                return gr.skip(), gr.skip(), str(exc)
            path = conversations.export(state, user)
            return (
                conversations.listing(user, state),
                gr.update(value=path, interactive=path is not None),
                "",
            )

        rename.click(renamed, [session, title], [listing, export, notice])
        title.submit(renamed, [session, title], [listing, export, notice])

        def forgotten(state: Session, request: gr.Request) -> tuple[Any, ...]:
            if state.conversation is not None:
                # Already gone when it was deleted in another tab.
                with suppress(ConversationNotFoundError):
                    conversations.store.delete(state.conversation, user_of(request))
            return show(None, request)

        forget.click(forgotten, [session], [*shown, notice])

        # --- documents ------------------------------------------------------------------
        def refresh(chosen: list[str] | None, picked: list[str] | None) -> tuple[Any, ...]:
            return (app.generation, app.status(), *app.documents(chosen, picked))

        def tick(
            seen_gen: int, chosen: list[str] | None, picked: list[str] | None
        ) -> tuple[Any, ...]:
            if seen_gen == app.generation:
                return (gr.skip(),) * 5
            return refresh(chosen, picked)

        panels = [seen, status, docs, pick, scope]
        upload.upload(app.upload, [upload], [upload_result], concurrency_id="index").then(
            refresh, [scope, pick], panels
        ).then(lambda: None, None, [upload])
        delete.click(app.delete, [pick], [upload_result], concurrency_id="index").then(
            refresh, [scope, pick], panels
        )
        timer.tick(tick, [seen, scope, pick], panels, queue=False, show_progress="hidden")
        demo.load(app.seed_if_empty, None, [notice], concurrency_id="index").then(
            refresh, [scope, pick], panels
        ).then(restore, [opened], [*shown, notice]).then(
            # Asking opens only now: restoring the tab's conversation (none, on a first visit)
            # replaces the chat, and would wipe a question asked while the page still loaded.
            lambda: (gr.update(interactive=True), gr.update(interactive=True)),
            None,
            [box, send],
            queue=False,
        )
    demo.queue(default_concurrency_limit=4)
    # Load the LLM and embed the store's sentences while the page opens, not on the first question.
    app.warm_later()
    app.start_watching()
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
    logins = settings.logins()
    if logins:
        options["auth"] = logins
    elif not _is_loopback(host):
        raise SettingsError(
            f"Refusing to listen on {host} without a password: anyone on the network could "
            "read your documents. Set RAG_UI_PASSWORD (and optionally RAG_UI_USER) or "
            "RAG_UI_USERS, or use --host 127.0.0.1."
        )
    return options


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    watch: Sequence[str] = (),
    settings: UISettings | None = None,
) -> int:
    settings = settings or UISettings()
    options = launch_options(settings, host, port)
    demo = build_app(settings, watch)
    print(f"Chat at http://{host}:{port} (Ctrl+C to stop)", file=sys.stderr)
    demo.launch(**options)
    return 0
