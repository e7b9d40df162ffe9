"""News-aware ranking: article dates, recency, echoes, accent folding (qa/dates.py, qa/news.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.dates import article_date, display, find_date
from qa.news import HEADLINE_MIN, RECENT_MARGIN, adjust, echoes, newest_relevant, recency_map, relative, sentence_kind, stale_note, strip_recency
from qa.retrieve import Hit
from qa.sentences import Sentence
from tests.conftest import FakeEmbedder


@pytest.mark.parametrize(
    "text, iso",
    [
        ("Date: 2025-02-18", "2025-02-18"),
        ("at Diriyah Palace, in Riyadh, Saudi Arabia, Tuesday, Feb. 18, 2025. (Photo via AP)", "2025-02-18"),
        ("It happened on 12 May 2025 in Turin.", "2025-05-12"),
        ("On March 18, 1965, he walked in space.", "1965-03-18"),
        ("2019-10-14_kenya-s-brigid-kosgei.txt", "2019-10-14"),
        ("No date here, only 2019 as a year.", None),
    ],
)
def test_dates_are_found_in_the_forms_news_uses(text: str, iso: str | None):
    found = find_date(text)
    assert (found.isoformat() if found else None) == iso


def test_article_date_prefers_metadata_then_text_then_file_name_then_file_time():
    assert article_date("2024-10-30", "Text of Feb. 18, 2025.", "2019-01-01_x.txt", 0.0) == ("2024-10-30", "metadata")
    assert article_date("", "Text of Feb. 18, 2025.", "2019-01-01_x.txt", 0.0) == ("2025-02-18", "text")
    assert article_date("", "Undated text.", "2019-01-01_x.txt", 0.0) == ("2019-01-01", "file name")
    assert article_date("", "Undated text.", "notes.txt", 86400.0 * 365) == ("1971-01-01", "file time")
    assert display("2025-05-12") == "12 May 2025"


@pytest.mark.parametrize(
    "text, kind",
    [
        ("Who won the 2026 Kentucky Derby?", "question"),
        ("# Storm closes harbour", "heading"),
        ("Storm closes harbour", "heading"),
        ("By Jane Smith", "heading"),
        ("US Secretary of State Marco Rubio sits next to Mike Waltz, in Riyadh. (Evelyn Hockstein/Pool Photo via AP)", "caption"),
        ("Sovereign Grace won the 2026 Kentucky Derby on Saturday.", ""),
    ],
)
def test_sentence_kinds(text: str, kind: str):
    assert sentence_kind(text) == kind


def test_a_sentence_restating_the_question_is_no_evidence():
    assert echoes("Which horse won this year's Kentucky Derby?", "Which horse won the Kentucky Derby?")
    assert not echoes("Which horse won this year's Kentucky Derby?", "Who rode Sovereign Grace, the horse that won the Derby?")
    assert not echoes("Which horse won?", "Sovereign Grace won the Derby.")


def _hit(aid: str, text: str, score: float, row: int) -> Hit:
    return Hit(Sentence(aid, 0, 0, 0, len(text), text), score, row, {})


ARTICLES = {"old": {"published": "2010-05-01"}, "new": {"published": "2020-05-01"}, "mid": {"published": "2015-05-01"}}


def test_a_question_about_now_puts_the_newest_relevant_article_first():
    rec = recency_map(ARTICLES)
    assert rec == {"old": 0.0, "new": 1.0, "mid": pytest.approx(0.5, abs=0.01)}
    hits = [_hit("old", "Floods hit the valley in May.", 2.0, 0), _hit("new", "Floods hit the coast in May.", 1.6, 1)]
    assert [h.sentence.article_id for h in adjust("Where did the floods hit?", hits, rec, 2)] == ["old", "new"]  # a nudge, not a rule
    assert [h.sentence.article_id for h in adjust("Where did the latest floods hit?", hits, rec, 2)] == ["new", "old"]
    near = [_hit("old", "A storm formed.", 1.0, 0), _hit("new", "A storm formed too.", 0.99, 1)]
    assert adjust("Which storm formed?", near, rec, 2)[0].sentence.article_id == "new"  # near-equal: the newer wins
    assert relative(["old", "mid"], rec) == {"old": 0.0, "mid": 1.0}


@pytest.mark.parametrize(
    "question, plain",
    [
        ("Where did the most recent earthquake strike?", "Where did the earthquake strike?"),
        ("Which hurricane hit land most recently?", "Which hurricane hit land?"),
        ("Who is the current US president-elect?", "Who is the US president-elect?"),
        ("Which horse won this year's Kentucky Derby?", "Which horse won Kentucky Derby?"),
        ("Where did the earthquake strike?", "Where did the earthquake strike?"),
        ("Latest?", "Latest?"),  # nothing left: the question as it was
    ],
)
def test_time_words_leave_the_question_that_is_searched(question: str, plain: str):
    assert strip_recency(question) == plain


def test_the_newest_of_the_relevant_articles_answers_a_question_about_now():
    articles = {**ARTICLES, "newer": {"published": "2021-01-01", "text": "A quake hit Chile."}, "new": {"published": "2020-05-01", "text": "A quake hit Peru."},
                "old": {"published": "2010-05-01", "text": "A quake hit Peru."}}
    rec = recency_map(articles)
    old, new = _hit("old", "A quake hit Peru.", 10.0, 0), _hit("new", "A quake hit Peru.", 9.0, 1)
    unrelated = _hit("newer", "Fans cheered the team.", 10.0 - RECENT_MARGIN - 0.5, 2)  # newest, but its reading is far below the best
    assert newest_relevant("Where did the quake hit?", [old, new, unrelated], rec, articles) == ("new", 2)
    assert newest_relevant("Where did the quake hit?", [old, _hit("new", "A quake hit Peru.", 10.0 - RECENT_MARGIN - 0.5, 1)], rec, articles) == ("old", 1)  # too far below
    chile = _hit("newer", "A quake hit Chile.", 9.5, 2)
    assert newest_relevant("Where did the quake hit?", [old, new, chile], rec, articles) == ("newer", 3)
    assert newest_relevant("Where did the quake hit Peru?", [old, new, chile], rec, articles) == ("new", 2)  # the newest never names Peru


def test_a_newer_article_whose_headline_is_about_something_else_is_not_relevant():
    articles = {"old": {"published": "2010-05-01", "text": "A quake hit Peru."}, "new": {"published": "2020-05-01", "text": "An interview."}}
    rec = recency_map(articles)
    old, new = _hit("old", "A quake hit Peru.", 10.0, 0), _hit("new", "The quake came up in the interview.", 9.5, 1)
    assert newest_relevant("Where did the quake hit?", [old, new], rec, articles) == ("new", 2)
    assert newest_relevant("Where did the quake hit?", [old, new], rec, articles, {"old": 0.6, "new": HEADLINE_MIN - 0.01}) == ("old", 1)
    # nothing qualifies: the best reading among the articles that mention what the question names
    assert newest_relevant("Where did the quake hit Peru?", [new, old], rec, articles, {"old": 0.1, "new": 0.1}) == ("old", 0)


def test_echoes_and_headings_lose_to_the_answer():
    hits = [_hit("new", "Who won the 2026 Kentucky Derby?", 3.0, 0), _hit("new", "Sovereign Grace won the 2026 Kentucky Derby.", 2.5, 1)]
    assert adjust("Who won the 2026 Kentucky Derby?", hits, {}, 2)[0].position == 1


def test_old_evidence_for_a_question_about_now_is_said():
    assert stale_note("Who won the latest race?", {"published": "2015-05-01"}, ARTICLES) == (
        "from an article of 1 May 2015; the newest article is of 1 May 2020")
    assert stale_note("Who won the race?", {"published": "2015-05-01"}, ARTICLES) is None
    assert stale_note("Who won the latest race?", {"published": "2020-04-01"}, ARTICLES) is None
    # which of several articles about it was chosen, and, if long ago, when
    assert stale_note("Who won the latest race?", {"published": "2020-04-01"}, ARTICLES, newest_of=3) == (
        "from the newest of 3 articles about it, of 1 April 2020")
    assert stale_note("Who won the latest race?", {"published": "2015-05-01"}, ARTICLES, newest_of=2) == (
        "from the newest of 2 articles about it, of 1 May 2015; the newest article is of 1 May 2020")
    assert stale_note("Who won the latest race?", {"published": "2020-04-01"}, ARTICLES, newest_of=1) is None  # no choice made


def test_accents_and_inflections_match_in_bm25(tmp_path: Path):
    from qa.build import build_index
    from qa.index import load_index
    from qa.seeds import read_seeds

    seeds = tmp_path / "s"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Temür Kaliyev won the vote in Genève. Crowds gathered.\n", encoding="utf-8")
    (seeds / "b.txt").write_text("Rain fell on the fields. Farmers waited.\n", encoding="utf-8")
    build_index(read_seeds(seeds), tmp_path / "i", FakeEmbedder())
    index = load_index(tmp_path / "i")
    scores = index.bm25_scores("Temur Geneve")
    assert scores.argmax() == 0 and scores[0] > 0
    assert index.terms(["voting"]) == index.terms(["votes"])  # stemmed alike
    assert {"say", "waltz"} <= index.terms(["Waltz said it"])[0] & index.terms(["What did Waltz say?"])[0]  # irregular verbs at their base


def test_every_citation_carries_its_article_date(tmp_path: Path):
    from qa.answer import answer
    from qa.build import build_index
    from qa.index import load_index
    from qa.retrieve import Retriever
    from qa.seeds import read_seeds
    from qa.settings import Settings

    seeds = tmp_path / "s"
    seeds.mkdir()
    (seeds / "2019-10-14_marathon.txt").write_text("Brigid Kosgei won the marathon. She set a record.\n", encoding="utf-8")
    build_index(read_seeds(seeds), tmp_path / "i", FakeEmbedder())
    ans = answer("Who won the marathon?", Retriever(load_index(tmp_path / "i"), FakeEmbedder(), rerank_depth=0), Settings(abstain_below=0.0))
    assert ans.citations[0].date == "2019-10-14"


def test_what_the_question_names_must_be_named_by_the_articles_quoted():
    from qa.answer import compose
    from qa.settings import Settings

    articles = {
        "talks": {"title": "Talks in Riyadh", "text": "The talks in Riyadh lasted five hours."},
        "cleo": {"title": "Letters to Cleo", "text": "Letters to Cleo are a rock band from Boston with four members."},
        "trees": {"title": "Screaming Trees", "text": "Screaming Trees had five members."},
        "film": {"title": "Big Stone Gap", "text": "Big Stone Gap is a film directed by Adriana Trigiani."},
        "trigiani": {"title": "Adriana Trigiani", "text": "Adriana Trigiani is based in Greenwich Village."},
    }

    def hit(aid: str, row: int) -> Hit:
        text = articles[aid]["text"]
        return Hit(Sentence(aid, 0, 0, 0, len(text), text), 1.0, row, {"dense": 0.9, "coverage": 0.5})

    settings = Settings(abstain_below=0.0)
    # one name, never mentioned: no evidence, so no answer
    assert compose("What did China say about the talks?", "What did China say about the talks?", [hit("talks", 0)], articles, settings).abstained
    # several names, each article naming some and together all: both are evidence
    q = "Which band, Letters to Cleo or Screaming Trees, had more members?"
    ans = compose(q, q, [hit("cleo", 0), hit("trees", 1)], articles, Settings(abstain_below=0.0, extra_cosine_margin=1.0, extra_bm25_ratio=0.0))
    assert {c.article_id for c in ans.citations} == {"cleo", "trees"}
    # the second step of a two-step question: an admitted sentence names the article
    q = "The director of Big Stone Gap is based in what city?"
    ans = compose(q, q, [hit("film", 0), hit("trigiani", 1)], articles, Settings(abstain_below=0.0, extra_cosine_margin=1.0, extra_bm25_ratio=0.0))
    assert {c.article_id for c in ans.citations} == {"film", "trigiani"}
    # but a sentence naming none of several names is still no evidence
    q = "Which band, Letters to Cleo or Screaming Trees, played in Riyadh first?"
    ans = compose(q, q, [hit("talks", 0), hit("cleo", 1)], articles, settings)
    assert "talks" not in {c.article_id for c in ans.citations}


def test_a_year_the_question_names_must_be_in_the_sentence_or_its_article():
    from qa.news import names_absent

    article = "The women's World Cup final was played in Lyon in 2019. The United States won it."
    assert names_absent("Who won the 2022 World Cup?", "The United States won it.", article)
    assert not names_absent("Who won the 2019 World Cup?", "The United States won it.", article)  # the article says 2019
    assert not names_absent("Who won the World Cup?", "The United States won it.", article)
