"""The browser chat: the Gradio page, mounted on the JSON API's app (ui/api.py). Rendering only.

Everything about answering lives in the `qa` library; how an answer looks is ui/render.py.

- The Gradio chat endpoint is named "chat" for gradio_client.
- Gradio's queue runs at most `Settings.concurrency` answers at once (answering is CPU-bound
  and this is a 2-core laptop tool) and holds at most `Settings.queue_size` waiting requests;
  beyond that a request is refused at once instead of piling up. `/api/ask` has the same bounds.
- Starting the server is ui/server.py's job.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

from qa import collection
from qa.articles import MAX_FILE_BYTES, SUPPORTED_SUFFIXES
from qa.errors import QAError
from qa.filters import Filters
from qa.query import suggest_questions
from qa.service import Assistant
from qa_ui.render import CSS, HEAD, conversation_markdown, conversation_turns, md_escape, reply_html, sources_html, stack_panels, user_turns


def _offline_env() -> None:
    """Before gradio is imported: no analytics or version check, no model hub."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def respond_to(assistant: Assistant, message: str, history: list[dict], filters: Filters | None = None) -> tuple[str, str, str, dict | None]:
    """(reply, sources panel, status note, the answer as a dict) for one chat message."""
    turn = len(user_turns(history)) + 1
    try:
        ans, index = assistant.ask_with_index(message, history=conversation_turns(history), filters=filters)
    except QAError as exc:
        return f"⚠️ {md_escape(str(exc))}", sources_html(None, {}, turn), f"question {turn} not answered", None
    # The panel is drawn from the version that answered, not whatever is in service now:
    # a rebuild that finishes between the answer and the panel must not mix the two.
    return reply_html(ans, turn), sources_html(ans, index.articles, turn), f"answer {turn} in {ans.timings_ms['total']:.0f} ms", ans.to_dict()


EXPORT_DIR = Path(tempfile.gettempdir()) / "qa-exports"
EXPORT_KEEP_SECONDS = 3600


def export_file(entries: list[dict], index_line: str) -> str:
    """The conversation as a Markdown file for the page's download button (named by its content;
    files older than an hour are removed)."""
    EXPORT_DIR.mkdir(exist_ok=True)
    now = time.time()
    for old in EXPORT_DIR.glob("qa-conversation-*.md"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > EXPORT_KEEP_SECONDS:
                old.unlink()
    text = conversation_markdown(entries, index_line, time.strftime("%Y-%m-%d %H:%M", time.localtime(now)))
    path = EXPORT_DIR / f"qa-conversation-{hashlib.sha256(text.encode()).hexdigest()[:12]}.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


_EXAMPLES: dict[str, list[str]] = {}  # index version -> example questions checked to be answered


def examples_html(assistant: Assistant, n: int = 3) -> str:
    """Buttons with example questions about the index in service, each one asked first and
    shown only if it is answered (not abstained); worked out once per index version."""
    try:
        index = assistant.index
    except QAError:
        return ""
    if index.version not in _EXAMPLES:
        answered = []
        for q in suggest_questions(index.sentences, n=3 * n):
            try:
                if not assistant.ask(q).abstained:
                    answered.append(q)
            except QAError:
                continue
            if len(answered) == n:
                break
        _EXAMPLES[index.version] = answered
    buttons = "".join(f'<button class="qa-example" data-q="{html.escape(q)}">{html.escape(q)}</button>' for q in _EXAMPLES[index.version])
    return f'<div class="qa-examples">{buttons}</div>' if buttons else ""


def filter_choices(assistant: Assistant) -> tuple[list[str], list[tuple[str, str]]]:
    """The sources and the articles (label, id) of the index in service, for the filter control."""
    try:
        articles = assistant.index.articles
    except QAError:
        return [], []
    labels = sorted(((m.get("display_title") or aid) + (f" · {m['published']}" if m.get("published") else ""), aid) for aid, m in articles.items())
    return assistant.sources(), labels


def article_rows(assistant: Assistant) -> list[list]:
    try:
        return [[r.title, r.source, r.date, r.sentences, r.id] for r in collection.articles(assistant)]
    except QAError:
        return []


def _articles_tab(gr):
    """The Articles tab's parts: upload, what happened, the list, remove."""
    gr.Markdown(f"Add news articles ({' '.join(SUPPORTED_SUFFIXES)}; several at once) or remove one. The index is rebuilt "
                "(only new text is embedded) and the chat answers from it at once. A removed article's file is moved to the "
                "seeds folder's `.removed/`, not deleted.")
    upload = gr.File(label="Add articles", file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), elem_id="upload")
    said = gr.Markdown("", elem_id="articles-status")
    table = gr.Dataframe(headers=["Title", "Source", "Date", "Sentences", "Id"], interactive=False, elem_id="article-list", wrap=True)
    with gr.Row():
        choice = gr.Dropdown([], label="Remove an article", elem_id="remove-choice", scale=4)
        remove = gr.Button("Remove", variant="stop", elem_id="remove", scale=1)
    return upload, said, table, choice, remove


def build_blocks(assistant: Assistant, manage: bool = False):
    """The page. `manage`: with the Articles tab (upload, list, remove)."""
    _offline_env()
    import gradio as gr

    manage_parts = None

    def status_line(note: str = "") -> str:
        try:
            line = f"**Index:** {md_escape(assistant.status().line())}"
        except QAError as exc:
            line = f"**No index:** {md_escape(str(exc))}"
        return f"{line} · _{note}_" if note else line

    def assistant_line() -> str:
        try:
            return assistant.status().line()
        except QAError:
            return ""

    def respond(message: str, history: list[dict], panels: str, transcript: list[dict] | None = None, sources: list[str] | None = None,
                articles: list[str] | None = None, since: str = "", until: str = ""):
        skip = gr.skip()
        if not isinstance(message, str) or not message.strip():
            yield "Type a question about the articles.", skip, skip, skip, skip, skip
            return
        try:
            filters = Filters.of(sources or [], since, until, articles or [])
        except QAError as exc:
            yield f"⚠️ {md_escape(str(exc))} (in the filters below the chat)", skip, status_line("question not answered"), skip, skip, skip
            return
        reply, panel, note, entry = respond_to(assistant, message, history, filters)
        stacked = stack_panels(panels, panel)
        # The transcript follows the chat: turns the chat no longer shows (cleared, retried) are dropped.
        kept = [e for e in (transcript or []) if e["turn"] <= len(user_turns(history))]
        kept += [{"turn": len(user_turns(history)) + 1, **entry}] if entry else []
        download = gr.DownloadButton(value=export_file(kept, assistant_line()), interactive=True) if kept else skip
        yield reply, stacked, status_line(note), stacked, kept, download

    with gr.Blocks(title="qa — ask the articles", fill_height=True) as demo:
        gr.Markdown("## qa — ask the articles\nEvery answer quotes the sentences it rests on; click a marker [n] to see one in its article.",
                    elem_id="heading")
        status = gr.Markdown(status_line(), elem_id="status")
        panels = gr.State("")
        transcript = gr.State([])
        source_choices, article_choices = filter_choices(assistant)
        with gr.Accordion("Filter the articles", open=False, elem_id="filters", render=False) as filter_box:
            with gr.Row():
                source_box = gr.Dropdown(source_choices, value=[], multiselect=True, label="Sources", elem_id="filter-sources")
                article_box = gr.Dropdown(article_choices, value=[], multiselect=True, label="Articles", elem_id="filter-articles")
            with gr.Row():
                since_box = gr.Textbox("", label="Since (YYYY-MM-DD)", elem_id="filter-since", max_lines=1)
                until_box = gr.Textbox("", label="Until (YYYY-MM-DD)", elem_id="filter-until", max_lines=1)
        export_button = gr.DownloadButton("Export the conversation (Markdown)", value=None, interactive=False, elem_id="export",
                                          size="sm", variant="secondary", render=False)
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", elem_id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        sources = gr.HTML(sources_html(None, {}, 0), elem_id="sources", render=False)
                        chatbot = gr.Chatbot(
                            elem_id="chat", height=560, sanitize_html=True, render_markdown=True, latex_delimiters=[], show_label=False,
                            placeholder="Ask a question about the articles. Every answer quotes its source sentences.",
                            buttons=["copy"],
                        )
                        gr.ChatInterface(
                            respond,
                            chatbot=chatbot,
                            textbox=gr.Textbox(placeholder="Who attended the talks?", elem_id="question", max_lines=4, submit_btn=True),
                            additional_inputs=[panels, transcript, source_box, article_box, since_box, until_box],
                            additional_outputs=[sources, status, panels, transcript, export_button],
                            api_name="chat",
                            fill_height=True,
                            autofocus=True,
                        )
                        example_box = gr.HTML("", elem_id="examples")
                        filter_box.render()
                        export_button.render()
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources.render()
            if manage:
                with gr.Tab("Articles", elem_id="articles-tab"):
                    manage_parts = _articles_tab(gr)
        def choices_now() -> tuple:
            sources_now, articles_now = filter_choices(assistant)
            return gr.Dropdown(choices=sources_now), gr.Dropdown(choices=articles_now)

        def on_load():
            return status_line(), examples_html(assistant), *choices_now()

        demo.load(on_load, outputs=[status, example_box, source_box, article_box], api_visibility="private")
        if manage_parts is not None:
            upload, said, table, choice, remove = manage_parts

            def listing() -> tuple:
                rows = article_rows(assistant)
                return rows, gr.Dropdown(choices=[(f"{r[0]} ({r[4]})", r[4]) for r in rows], value=None)

            def changed(action) -> tuple:
                try:
                    message = f"✅ {md_escape(action())}"
                except QAError as exc:
                    message = f"⚠️ {md_escape(str(exc))}"
                return (message, *listing(), *choices_now(), status_line())

            outputs = [said, table, choice, source_box, article_box, status]
            demo.load(listing, outputs=[table, choice], api_visibility="private")
            upload.upload(lambda files: (*changed(lambda: collection.add_files(assistant, [(Path(f), Path(f).name) for f in files or []])), None),
                          inputs=[upload], outputs=[*outputs, upload], api_visibility="private", concurrency_limit=1, concurrency_id="build")
            remove.click(lambda aid: changed(lambda: collection.remove_article(assistant, aid) if aid else _nothing_chosen()),
                         inputs=[choice], outputs=outputs, api_visibility="private", concurrency_limit=1, concurrency_id="build")
    demo.queue(default_concurrency_limit=assistant.settings.concurrency, max_size=assistant.settings.queue_size)
    return demo


def _nothing_chosen() -> str:
    raise QAError("choose an article to remove first")


def build_app(assistant: Assistant, auth: tuple[str, str] | None = None, hosts: Collection[str] | None = (), origins: Collection[str] | None = None,
              manage: bool = False):
    """The whole app: the JSON API (ui/api.py) with the Gradio page mounted at /, behind the Guard.

    `hosts`: names served besides the loopback ones (None: any host, for a wildcard bind);
    `origins`: other origins allowed to call it; `manage`: the Articles tab, and uploads."""
    _offline_env()
    import gradio as gr

    from qa_ui.api import Guard, build_api

    app = build_api(assistant, auth)
    demo = build_blocks(assistant, manage=manage)
    mounted = gr.mount_gradio_app(
        app, demo, path="/", auth=auth, css=CSS, head=HEAD, ssr_mode=False, footer_links=["api"],
        show_error=False, mcp_server=False, max_file_size=f"{MAX_FILE_BYTES // (1024 * 1024)}mb" if manage else "1mb",
    )
    return Guard(mounted, hosts=hosts, origins=origins, uploads=manage)
