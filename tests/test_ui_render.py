"""The page's rendering helpers, without a browser: escaping, panels, history, flags."""

from __future__ import annotations

import pytest

from qa.answer import Answer, Citation
from qa.errors import QAError
from qa_ui.app import md_escape, reply_markdown, sources_html, user_turns
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
    md = reply_markdown(ans, turn=3)
    assert "[[1]](#src-3-1)" in md and "<script>" not in md


def test_short_answer_is_bold_above_the_quote_and_escaped():
    ans = Answer("q", "x", [_cite(1, "It opened on 4 May 2021.")], False, short_answer="4 May <b>2021</b>")
    md = reply_markdown(ans, 1)
    assert md.startswith("**4 May &lt;b&gt;2021&lt;/b&gt;**\n\n> It opened")
    assert not reply_markdown(Answer("q", "x", [_cite(1, "y")], False), 1).startswith("**")


def test_abstention_reply_looks_different():
    ans = Answer("q", "The articles don't say.", [], True, closest=[_cite(1, "near")])
    md = reply_markdown(ans, 1)
    assert md.startswith("**The articles don") and "not an answer" in md


def test_sources_panel_highlights_the_sentence_in_its_paragraph_escaped():
    text = "Intro para.\n\nBefore it. " + EVIL + " After it.\n\nNext para."
    start = text.index(EVIL)
    ans = Answer("q", "x", [_cite(1, EVIL, start)], False)
    html = sources_html(ans, {"a1": {"text": text}}, turn=2)
    assert '<mark id="src-2-1">' in html
    assert "Before it." in html and "After it." in html and "Next para." not in html and "Intro para." not in html
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
