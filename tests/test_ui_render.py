"""The page's rendering helpers, without a browser: escaping, panels, history, flags."""

from __future__ import annotations

import pytest

from qa.answer import Answer, Citation
from qa.errors import QAError
from qa_ui.app import respond_to
from qa_ui.render import md_escape, reply_html, sources_html, user_turns
from qa_ui.server import _is_loopback, parse_auth

EVIL = 'He said <script>alert(1)</script> and <img src=x onerror="x()"> [click](javascript:alert(1))'


def _cite(n: int, text: str, start: int = 0) -> Citation:
    return Citation(n, "a1", "T <b>bold</b>", "Src", "2025-02-18", 0, 0, start, start + len(text), text, 1.0)


def test_md_escape_neutralises_markup_and_links():
    out = md_escape(EVIL)
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;" in out
    assert "](javascript" not in out and "\\[click\\]" in out


def test_reply_quotes_with_linked_markers_and_escapes():
    ans = Answer("q", EVIL, [_cite(1, EVIL)], False)
    out = reply_html(ans, turn=3)
    assert '<a class="qa-marker" href="#src-3-1">[1]</a>' in out and "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "[click](javascript:alert(1))" in out  # shown as text, linking nothing


def test_the_short_answer_is_bold_inside_its_quote_and_read_back_without_the_markup():
    from qa_ui.render import conversation_turns

    ans = Answer("Who won?", "x", [_cite(1, "It rained."), _cite(2, "Brigid <Kosgei> won in 2:14:04.")], False, short_answer="Brigid <Kosgei>")
    out = reply_html(ans, 1)
    assert 'Brigid &lt;Kosgei&gt; won' not in out and '<strong class="qa-span">Brigid &lt;Kosgei&gt;</strong> won in 2:14:04.' in out
    assert out.count("qa-span") == 1
    turns = conversation_turns([{"role": "user", "content": "Who won?"}, {"role": "assistant", "content": out}])
    assert turns[0]["citations"][1]["text"] == "Brigid <Kosgei> won in 2:14:04." and turns[0]["short_answer"] == "Brigid <Kosgei>"


def test_reply_shows_urls_and_dollars_as_written():
    text = "See https://example.org/report?id=1&x=2 and $$x^2$$ in the text."
    out = reply_html(Answer("q", text, [_cite(1, text)], False), 1)
    assert "https://example.org/report?id=1&amp;x=2" in out and "$$x^2$$" in out and "\\" not in out


def test_short_answer_is_bold_above_the_quote_and_escaped():
    ans = Answer("q", "x", [_cite(1, "It opened on 4 May 2021.")], False, short_answer="4 May <b>2021</b>")
    out = reply_html(ans, 1)
    assert out.startswith('<div class="qa-reply"><p class="qa-short"><b>4 May &lt;b&gt;2021&lt;/b&gt;</b></p><blockquote')
    assert "qa-short" not in reply_html(Answer("q", "x", [_cite(1, "y")], False), 1)


def test_abstention_reply_says_it_once():
    ans = Answer("q", "The articles don't say.", [], True, closest=[_cite(1, "near")])
    out = reply_html(ans, 1)
    assert "The articles don&#x27;t say." in out and "not an answer" in out and "Nothing in the articles" not in out


def test_source_context_is_bounded_around_a_huge_paragraph():
    text = "x " * 500_000 + "The cited sentence. " + "y " * 500_000
    start = text.index("The cited")
    from qa_ui.render import FULL_TEXT_CHARS

    out = sources_html(Answer("q", "x", [_cite(1, "The cited sentence.", start)], False), {"a1": {"text": text}}, 1)
    para = out.split('<div class="qa-para">')[1].split("</div>")[0]
    assert len(para) < 3_000 and "…" in para and len(out) < FULL_TEXT_CHARS + 5_000


def test_sources_panel_highlights_the_sentence_in_its_paragraph_escaped():
    text = "Intro para.\n\nBefore it. " + EVIL + " After it.\n\nNext para."
    start = text.index(EVIL)
    ans = Answer("q", "x", [_cite(1, EVIL, start)], False)
    html = sources_html(ans, {"a1": {"text": text}}, turn=2)
    assert '<mark id="src-2-1">' in html
    para = html.split('<div class="qa-para">')[1].split("</div>")[0]
    assert "Before it." in para and "After it." in para and "Next para." not in para and "Intro para." not in para
    full = html.split('<div class="qa-article">')[1]
    assert "Intro para." in full and "Next para." in full and "<mark>" in full  # "Open the whole article"
    assert "<script>" not in html and "<img" not in html and "T &lt;b&gt;bold&lt;/b&gt;" in html


def test_closest_passages_are_marked_not_an_answer():
    ans = Answer("q", "The articles don't say.", [], True, closest=[_cite(1, "near")])
    html = sources_html(ans, {"a1": {"text": "near"}}, 1)
    assert "not an answer" in html and "qa-closest" in html


def test_user_turns_from_gradio_history():
    history = [
        {"role": "user", "content": "Who is Yuri Ushakov?"},
        {"role": "assistant", "content": "> ... [1]"},
        {"role": "user", "content": [{"type": "text", "text": "And Lavrov?"}]},
    ]
    assert user_turns(history) == ["Who is Yuri Ushakov?", "And Lavrov?"]
    assert user_turns([]) == []


def test_auth_flag_and_loopback():
    assert parse_auth("ann:pw:with:colons") == ("ann", "pw:with:colons")
    assert parse_auth(None) is None
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(QAError, match="USER:PASSWORD"):
            parse_auth(bad)
    assert _is_loopback("127.0.0.1") and _is_loopback("localhost") and _is_loopback("::1")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.1.5")


def test_the_sources_panel_comes_from_the_version_that_answered():
    """A rebuild can finish between the answer and the panel; the panel must use the answer's version."""
    from types import SimpleNamespace

    old = {"a1": {"text": "Old text. The cited sentence."}}
    new = {"a1": {"text": "New text, other offsets entirely. Nothing to see."}}
    start = old["a1"]["text"].index("The cited")

    class Rebuilt:
        index = SimpleNamespace(articles=new)  # what is in service by the time the panel is drawn

        def ask_with_index(self, question, history, filters=None):
            ans = Answer(question, "The cited sentence.", [_cite(1, "The cited sentence.", start)], False, timings_ms={"total": 1.0})
            return ans, SimpleNamespace(articles=old)

    reply, panel, note, _ = respond_to(Rebuilt(), "Which?", [])
    assert '<mark id="src-1-1"><span class="qa-n">[1]</span>The cited sentence.</mark>' in panel and "New text" not in panel


def test_the_chat_remembers_what_its_replies_quoted():
    from qa_ui.render import conversation_turns

    first = Answer("Who won?", "x", [_cite(1, "Brigid Kosgei <b>won</b> in 2:14:04.")], False, short_answer="Brigid Kosgei")
    history = [{"role": "user", "content": "Who won?"}, {"role": "assistant", "content": reply_html(first, 1)},
               {"role": "user", "content": "Anything else?"}, {"role": "assistant", "content": "⚠️ the question is empty"}]
    turns = conversation_turns(history)
    assert turns[0] == {"question": "Who won?", "citations": [{"title": "T <b>bold</b>", "text": "Brigid Kosgei <b>won</b> in 2:14:04."}],
                        "short_answer": "Brigid Kosgei"}
    assert turns[1] == {"question": "Anything else?", "citations": []}


def test_the_reply_says_what_it_understood():
    ans = Answer("What was her time?", "x", [_cite(1, "She ran 2:14:04.")], False, query="What was Brigid <Kosgei>'s time?")
    assert 'Understood as: <i>What was Brigid &lt;Kosgei&gt;&#x27;s time?</i>' in reply_html(ans, 2)
    assert "Understood as" not in reply_html(Answer("Q?", "x", [_cite(1, "y")], False, query="Q?"), 1)


def test_every_reply_keeps_its_own_sources():
    from qa_ui.render import stack_panels

    first = sources_html(Answer("Who?", "x", [_cite(1, "One.")], False), {"a1": {"text": "One."}}, 1)
    second = sources_html(Answer("Where?", "x", [_cite(1, "Two.")], False), {"a1": {"text": "Two."}}, 2)
    stacked = stack_panels(stack_panels("", first), second)
    assert stacked.count("<section") == 2 and stacked.count("qa-current") == 1
    assert 'id="src-1-1"' in stacked and 'id="src-2-1"' in stacked  # [1] of the first reply still has its source
    assert stacked.index('data-turn="2"') > stacked.index('data-turn="1"') and 'class="qa-turn qa-current" data-turn="2"' in stacked


def test_a_pdf_citation_shows_its_page():
    text = "Page one text.\n\nPage two starts. The cited sentence.\n\nMore of page two."
    pages = [0, text.index("Page two")]
    start = text.index("The cited")
    c = Citation(1, "r.pdf", "Report", "", "2025-02-18", 1, 1, start, start + 19, "The cited sentence.", 1.0, page=2)
    out = sources_html(Answer("q", "x", [c], False), {"r.pdf": {"text": text, "pages": pages}}, 1)
    para = out.split('<div class="qa-para">')[1].split("</div>")[0]
    assert "page 2" in out and "18 February 2025" in out and "Page two starts." in para and "Page one" not in para


def test_the_markdown_export_keeps_each_turns_quotes_and_where_they_are():
    from qa_ui.render import conversation_markdown

    first = Answer("Who won?", "x", [_cite(1, "Brigid Kosgei won\nin 2:14:04."), _cite(2, "She beat the record.")], False,
                   short_answer="Brigid Kosgei")
    second = Answer("What did she eat?", "The articles don't say.", [], True, closest=[_cite(1, "She trained in Kenya.")],
                    query="What did Brigid Kosgei eat?")
    md = conversation_markdown([first.to_dict(), second.to_dict()], "1 article · 3 sentences", "2026-11-28 10:00")
    assert md.startswith("# qa conversation\n\n2026-11-28 10:00 · 1 article · 3 sentences\n")
    one, two = md.split("## 1. Who won?")[1].split("## 2. What did she eat?")
    assert "**Brigid Kosgei**" in one and "> Brigid Kosgei won in 2:14:04. [1]\n>\n> She beat the record. [2]\n" in one
    assert "[2] *T <b>bold</b>*: Src · 18 February 2025 · `a1`, sentence 1" in one
    assert "_Understood as: What did Brigid Kosgei eat?_" in two and "The articles don't say." in two
    assert "Closest passages (not an answer):" in two and "> She trained in Kenya. [1]" in two
