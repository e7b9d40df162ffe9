"""How an answer looks on the page: the chat message (quoted sentences with numbered markers),
the sources panel (each cited sentence highlighted inside its paragraph or page, under the
article's title, source and date), the page's CSS and script, and reading the chat's own
replies back (for follow-ups and the Markdown export). No Gradio here.

All article text and questions are escaped before they reach the page: nothing from an
article or a question can add markup, links or scripts.
"""

from __future__ import annotations

import html
import re

from qa.answer import Answer, Citation
from qa.dates import display
from qa.documents import page_span
from qa.sentences import paragraph_around

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")

CSS = """
#sources { max-height: 80vh; overflow-y: auto; }
.qa-src { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0; }
.qa-src h4 { margin: 0 0 4px 0; font-size: 15px; }
.qa-meta { color: #57606a; font-size: 12px; margin-bottom: 6px; }
.qa-para { line-height: 1.5; font-size: 14px; }
.qa-para mark { background: #fff3b0; padding: 1px 2px; border-radius: 3px; }
.qa-para mark.flash { outline: 3px solid #f59e0b; }
.qa-n { font-weight: 700; color: #0969da; margin-right: 3px; }
.qa-closest { border-style: dashed; background: #f6f8fa; }
.qa-closest .qa-para mark { background: #e5e7eb; }
.qa-notanswer { color: #9a3412; font-weight: 600; font-size: 13px; margin-bottom: 8px; }
.qa-empty { color: #57606a; }
.qa-reply blockquote { margin: 0 0 8px 0; padding: 2px 0 2px 12px; border-left: 3px solid #d0d7de; white-space: pre-wrap; }
.qa-reply .qa-short { margin: 0 0 6px 0; font-size: 16px; }
.qa-reply .qa-span { background: #fff3b0; border-radius: 3px; padding: 0 2px; }
.qa-reply .qa-marker { text-decoration: none; font-weight: 700; }
.qa-abstained p { margin: 0; }
.qa-reply .qa-note { margin: 4px 0 0 0; color: #9a3412; font-size: 13px; }
.qa-reply .qa-understood { margin: 0 0 6px 0; color: #57606a; font-size: 13px; }
.qa-turn { display: none; }
.qa-turn.qa-current { display: block; }
.qa-turn-label { color: #57606a; font-size: 12px; margin: 0 0 6px 0; }
details.qa-full summary { cursor: pointer; color: #0969da; font-size: 13px; margin-top: 6px; }
.qa-article { white-space: pre-wrap; max-height: 420px; overflow-y: auto; border-top: 1px solid #d0d7de; margin-top: 6px; padding-top: 6px; font-size: 13px; }
.qa-article mark { background: #fff3b0; }
#examples button.qa-example { margin: 0 6px 6px 0; padding: 4px 10px; border: 1px solid #d0d7de; border-radius: 14px; background: #f6f8fa; cursor: pointer; font-size: 13px; }
"""

# Clicking a marker [n] in any reply shows that reply's sources and brings the sentence into
# view (and flashes it) instead of following the link; capture phase, so it works whatever the
# chat's link handling is. An example question is asked by clicking it. Opening the whole
# article scrolls to the cited sentence. A question of only spaces is not sent.
HEAD = """
<script>
document.addEventListener('click', function (event) {
  var example = event.target.closest && event.target.closest('button.qa-example');
  if (example) {
    var box = document.querySelector('#question textarea');
    box.value = example.getAttribute('data-q');
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(function () { var b = document.querySelector('#question button.submit-button, #question button[aria-label="Submit"]');
      if (b) { b.click(); } else { box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); } }, 50);
    return;
  }
  var link = event.target.closest && event.target.closest('a[href*="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  var id = link.getAttribute('href').split('#')[1];
  var target = document.getElementById(id);
  if (target) {
    var turn = target.closest('.qa-turn');
    if (turn && !turn.classList.contains('qa-current')) {
      document.querySelectorAll('#sources .qa-turn').forEach(function (t) { t.classList.remove('qa-current'); });
      turn.classList.add('qa-current');
    }
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.add('flash');
    setTimeout(function () { target.classList.remove('flash'); }, 1600);
  }
}, true);
document.addEventListener('toggle', function (event) {
  var d = event.target;
  if (d.classList && d.classList.contains('qa-full') && d.open) {
    var m = d.querySelector('mark');
    if (m) { m.scrollIntoView({block: 'center'}); }
  }
}, true);
document.addEventListener('keydown', function (event) {
  if (event.key === 'Enter' && !event.shiftKey && event.target.closest && event.target.closest('#question') && !event.target.value.trim()) {
    event.preventDefault();
    event.stopPropagation();
  }
}, true);
</script>
"""


def md_escape(text: str) -> str:
    """Text shown literally inside Markdown: no markup, no links, no HTML."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _message_text(content: object) -> str:
    """The text of a chat history entry (a string or Gradio's list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return " ".join(_message_text(c) for c in content)
    return ""


def user_turns(history: list[dict]) -> list[str]:
    return [t for t in (_message_text(m.get("content")) for m in history or [] if m.get("role") == "user") if t.strip()]


_QUOTE_RE = re.compile(r'<blockquote class="qa-quote" data-title="([^"]*)">(.*?) <a class="qa-marker"', re.S)
_TAG_RE = re.compile(r"</?strong[^>]*>")
_SHORT_RE = re.compile(r'<p class="qa-short"><b>(.*?)</b></p>', re.S)


def conversation_turns(history: list[dict]) -> list[dict]:
    """The chat's earlier turns as the library takes them: each question with the sentences its
    reply quoted (read back from the reply this page rendered), their titles and the short answer."""
    turns: list[dict] = []
    for message in history or []:
        text = _message_text(message.get("content"))
        if message.get("role") == "user" and text.strip():
            turns.append({"question": text, "citations": []})
        elif message.get("role") == "assistant" and turns and not turns[-1]["citations"]:
            turns[-1]["citations"] = [{"title": html.unescape(t), "text": html.unescape(_TAG_RE.sub("", q))} for t, q in _QUOTE_RE.findall(text)]
            short = _SHORT_RE.search(text)
            if short:
                turns[-1]["short_answer"] = html.unescape(short.group(1))
    return turns


def _quote_html(text: str, short: str | None) -> str:
    """The quoted sentence, escaped, with the short answer (when it is in it) in bold."""
    if not short or short not in text:
        return html.escape(text)
    at = text.index(short)
    return f'{html.escape(text[:at])}<strong class="qa-span">{html.escape(short)}</strong>{html.escape(text[at + len(short):])}'


def reply_html(ans: Answer, turn: int) -> str:
    """The chat message: quoted sentences with linked markers, or a visible abstention.

    One HTML block with every character of the articles escaped: Markdown would turn a URL
    in a quote into a link, and `$$…$$` into math; quotes must show the text exactly."""
    understood = (
        f'<p class="qa-understood">Understood as: <i>{html.escape(ans.query)}</i></p>' if ans.query and ans.query != ans.question else ""
    )
    if ans.abstained:
        note = " The closest passages are shown beside the chat, marked as not an answer." if ans.closest else ""
        return f'<div class="qa-reply qa-abstained">{understood}<p><b>{html.escape(ans.text)}</b>{note}</p></div>'
    marked = next((c.n for c in ans.citations if ans.short_answer and ans.short_answer in c.text), None)
    quotes = "".join(
        f'<blockquote class="qa-quote" data-title="{html.escape(c.title)}">{_quote_html(c.text, ans.short_answer if c.n == marked else None)} '
        f'<a class="qa-marker" href="#src-{turn}-{c.n}">[{c.n}]</a></blockquote>'
        for c in ans.citations
    )
    short = f'<p class="qa-short"><b>{html.escape(ans.short_answer)}</b></p>' if ans.short_answer else ""
    note = f'<p class="qa-note">Note: this answer is {html.escape(ans.note)}.</p>' if ans.note else ""
    return f'<div class="qa-reply">{understood}{short}{quotes}{note}</div>'


CONTEXT_CHARS = 600  # of the paragraph shown on each side of a cited sentence


FULL_TEXT_CHARS = 40_000  # of the article shown around the sentence by "Open the whole article"


def _source_card(c: Citation, article: dict, anchor: str, closest: bool) -> str:
    text = article.get("text", "")
    pages = article.get("pages") or []
    # A PDF's card shows the cited sentence's page; any other article's, its paragraph.
    p_start, p_end = page_span(text, pages, c.start) if pages else paragraph_around(text, c.start, c.end)
    before, cited, after = text[max(p_start, c.start - CONTEXT_CHARS) : c.start], text[c.start : c.end], text[c.end : min(p_end, c.end + CONTEXT_CHARS)]
    before = ("…" if c.start - CONTEXT_CHARS > p_start else "") + before
    after += "…" if c.end + CONTEXT_CHARS < p_end else ""
    title = c.title or "Untitled article"
    page = f"page {c.page}" if c.page else ""
    meta = " · ".join(html.escape(x) for x in (c.source, display(c.date) if c.date else "", page, f"sentence {c.sentence_index + 1}") if x)
    lo, hi = max(0, c.start - FULL_TEXT_CHARS // 2), min(len(text), c.end + FULL_TEXT_CHARS // 2)
    full = (
        f'<details class="qa-full"><summary>Open the whole article</summary><div class="qa-article">'
        f'{"…" if lo else ""}{html.escape(text[lo:c.start])}<mark>{html.escape(cited)}</mark>{html.escape(text[c.end:hi])}{"…" if hi < len(text) else ""}'
        "</div></details>"
    )
    return (
        f'<div class="qa-src{" qa-closest" if closest else ""}">'
        f"<h4>{html.escape(title)}</h4>"
        f'<div class="qa-meta">{meta}</div>'
        f'<div class="qa-para">{html.escape(before)}<mark id="{anchor}">'
        f'<span class="qa-n">[{c.n}]</span>{html.escape(cited)}</mark>{html.escape(after)}</div>'
        f"{full}</div>"
    )


def _turn_section(turn: int, body: str, question: str = "") -> str:
    label = f'<div class="qa-turn-label">Sources of answer {turn}{": " + html.escape(question[:80]) if question else ""}</div>' if turn else ""
    return f'<section class="qa-turn qa-current" data-turn="{turn}">{label}{body}</section>'


def sources_html(ans: Answer | None, articles: dict[str, dict], turn: int) -> str:
    """The sources panel's section for one answer."""
    if ans is None:
        return _turn_section(turn, '<div class="qa-empty">Sources of the answer appear here.</div>')
    if ans.abstained:
        if not ans.closest:
            return _turn_section(turn, '<div class="qa-empty">No passage is close to this question.</div>', ans.question)
        cards = "".join(_source_card(c, articles.get(c.article_id, {}), f"src-{turn}-{c.n}", True) for c in ans.closest)
        return _turn_section(turn, '<div class="qa-notanswer">Closest passages — not an answer</div>' + cards, ans.question)
    return _turn_section(turn, "".join(_source_card(c, articles.get(c.article_id, {}), f"src-{turn}-{c.n}", False) for c in ans.citations), ans.question)


_SECTION_RE = re.compile(r'<section class="qa-turn[^"]*" data-turn="(\d+)">.*?</section>', re.S)
KEEP_TURNS = 20


def stack_panels(previous: str, new: str) -> str:
    """Every reply keeps its sources: the earlier turns' sections stay (hidden) beside the new
    one, so a click on [n] in an earlier reply can show them; the last KEEP_TURNS are kept."""
    sections = [m.group(0).replace(' qa-current"', '"', 1) for m in _SECTION_RE.finditer(previous or "") if m.group(1) != "0"]
    return "".join(sections[-(KEEP_TURNS - 1):]) + new


def conversation_markdown(entries: list[dict], index_line: str = "", when: str = "") -> str:
    """The conversation as Markdown: each question, how it was understood, the answer's quoted
    sentences with their markers, and where each one is (title, source, date, article, sentence,
    page). `entries` are `Answer.to_dict()`s, oldest first."""
    lines = ["# qa conversation", ""]
    if when or index_line:
        lines += [" · ".join(x for x in (when, index_line) if x), ""]
    for turn, e in enumerate(entries, 1):
        lines += [f"## {turn}. {_one_line(e['question'])}", ""]
        if e.get("query") and e["query"] != e["question"]:
            lines += [f"_Understood as: {_one_line(e['query'])}_", ""]
        quoted = e["closest"] if e["abstained"] else e["citations"]
        if e["abstained"]:
            lines += [_one_line(e["answer"]), ""]
            if quoted:
                lines += ["Closest passages (not an answer):", ""]
        elif e.get("short_answer"):
            lines += [f"**{_one_line(e['short_answer'])}**", ""]
        lines += [f"> {_one_line(c['text'])} [{c['n']}]\n>" for c in quoted]
        if quoted:
            lines[-1] = lines[-1][:-2]
            lines.append("")
        if e.get("note"):
            lines += [f"Note: this answer is {_one_line(e['note'])}.", ""]
        for c in quoted:
            where = [c.get("source", ""), display(c["date"]) if c.get("date") else "", f"page {c['page']}" if c.get("page") else "",
                     f"`{c['article_id']}`, sentence {c['sentence_index'] + 1}"]
            lines.append(f"[{c['n']}] *{_one_line(c.get('title') or c['article_id'])}*: " + " · ".join(x for x in where if x))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
