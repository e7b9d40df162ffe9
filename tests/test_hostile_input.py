"""Property-based tests: whatever text or bytes arrive, the only outcomes are an answer, an
abstention, or a documented error (QAError) — never a crash, never a bad offset."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answer import answer
from qa.articles import parse_article
from qa.errors import QAError
from qa.index import load_index
from qa.retrieve import Retriever
from qa.seeds import read_seeds
from qa.sentences import split_article
from qa.settings import Settings

# Every code point, surrogates included, with extra weight on the awkward ones.
AWKWARD = st.sampled_from(["\u200b", "\u200f", "\u202e", "\u0627\u0644\u0633\u0644\u0627\u0645", "\x00", "\x1b", "\r\n", "\ufeff", "\ud800", "Feb.", "(via AP)", "“", "\n\n"])
ANY_TEXT = st.lists(st.one_of(st.characters(codec=None), AWKWARD, st.text(max_size=20)), max_size=200).map("".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FAST
@given(text=ANY_TEXT)
def test_any_text_splits_into_valid_sentences(text: str):
    article = parse_article("a", text)
    assert len(article.text) == len(text)  # cleaning (lone surrogates -> U+FFFD) keeps offsets
    start, end = article.body_span()
    assert 0 <= start <= end <= len(text)
    for s in split_article(article):
        assert start <= s.start < s.end <= end
        assert article.text[s.start:s.end] == s.text and s.text.strip()


@FAST
@given(raw=st.binary(max_size=3000))
def test_any_bytes_are_read_or_skipped(tmp_path_factory, raw: bytes):
    folder = tmp_path_factory.mktemp("seeds")
    (folder / "x.txt").write_bytes(raw)
    (folder / "x.jsonl").write_bytes(raw)
    (folder / "x.html").write_bytes(raw)
    report = read_seeds(folder)
    named = {p.split(":")[0].split("#")[0] for p, _ in report.skipped} | {a.path.split(":")[0].split("#")[0] for a in report.articles}
    named |= {p.split(":")[0].split("#")[0] for p, _ in report.duplicates}
    assert named <= {"x.txt", "x.jsonl", "x.html"}
    for a in report.articles:
        for s in split_article(a):
            assert a.text[s.start:s.end] == s.text


@FAST
@given(question=ANY_TEXT, history=st.lists(ANY_TEXT, max_size=3))
def test_any_question_gets_an_answer_an_abstention_or_an_error(tiny_index: Path, fake_embedder, question: str, history: list[str]):
    retriever = Retriever(load_index(tiny_index), fake_embedder)
    try:
        ans = answer(question, retriever, Settings(), history=history)
    except QAError as exc:
        assert "question" in str(exc)
        return
    assert ans.abstained or ans.citations
    for c in ans.citations:
        assert retriever.index.articles[c.article_id]["text"][c.start:c.end] == c.text


def test_megabyte_inputs(tmp_path: Path, tiny_index: Path, fake_embedder):
    retriever = Retriever(load_index(tiny_index), fake_embedder)
    with pytest.raises(QAError, match="limit is 2,000"):
        answer("why " * 250_000, retriever, Settings())
    big = " ".join(f"Sentence number {i} talks about harbours and storms." for i in range(20_000))  # ~1 MB
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "big.txt").write_text(big, encoding="utf-8")
    (article,) = read_seeds(tmp_path / "s").articles
    assert len(split_article(article)) == 20_000


@pytest.mark.model
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=ANY_TEXT)
def test_real_model_survives_any_question(seed_assistant, question: str):
    try:
        ans = seed_assistant.ask(question)
    except QAError:
        return
    assert ans.abstained or ans.citations
