"""What news needs from ranking beyond meaning: time, and sentences that only look like answers.

Applied to the best `depth` hits, whose scores share one scale (qa.retrieve.Retriever.search):

- Time. Each article's date (qa.dates) is placed between the collection's oldest and newest
  (0 to 1). Every question gets a small nudge toward newer articles, so that of two
  near-equal candidates the newer wins. A question about now ("this week", "latest",
  "recent", "currently"…) is answered from the newest relevant article (`strip_recency`,
  `newest_relevant`, qa.retrieve.Retriever.newest_first); without a reader it gets a strong
  nudge instead. The reply says which of how many articles it chose and, when that one is
  much older than the newest article, from when it is (`stale_note`).
- Echoes. A question-form sentence ("Who won the 2026 Kentucky Derby?"), a heading, a
  byline or a photo credit is demoted as an answer (it stays searchable); a question-form
  sentence that only restates the question is no evidence at all (`echoes`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from functools import lru_cache

from qa.dates import display

RECENT_RE = re.compile(
    r"\b(?:this (?:week|month|year|season)|last (?:week|month)|latest|most recent(?:ly)?|recent(?:ly)?|newest|"
    r"now|currently|current|today|these days|so far this)\b",
    re.IGNORECASE,
)
NUDGE = 0.05  # of two near-equal candidates, the newer article's wins
RECENCY = 1.0  # a question about now: the newest relevant article first
RECENT_POOL = 50  # first-stage candidates among which "newest" is judged
# A question about now, with a reader (qa.retrieve.Retriever.newest_first): the best
# RECENT_PER_ARTICLE sentences and the lede of each of the RECENT_ARTICLES best articles are
# read; an article is relevant when its best reading is within RECENT_MARGIN of the best one and
# its headline is at least HEADLINE_MIN close (cosine) to the question, and the newest relevant
# one answers. Chosen on the first 15 questions of eval/questions/recurring.jsonl
# (docs/design.md), as is LEDE.
RECENT_ARTICLES = 6
RECENT_PER_ARTICLE = 2
RECENT_MARGIN = 3.5
HEADLINE_MIN = 0.3
# Within the chosen article its first sentence (the lede, which news writes to say what happened,
# where and to whom) gains this much: such a question asks about the event as a whole.
LEDE = 1.5
_TIME_WORDS = re.compile(
    r"\b(?:most recent(?:ly)?|latest|newest|recently|this (?:week|month|year|season)(?:'s|’s)?|"
    r"so far this (?:week|month|year|season)|these days|currently|current|right now|now|today(?:'s|’s)?)\b\s*",
    re.IGNORECASE,
)
STALE_DAYS = 180
DEMOTE = {"question": 1.5, "heading": 1.5, "byline": 1.5, "caption": 0.3}
_BYLINE = re.compile(r"^\s*(?:by\s+[A-Z]|reporting by|written by|edited by|photo(?:graph)?s?\s*:|image\s*:|source\s*:|[-–—]\s*\S)", re.IGNORECASE)
_CREDIT = re.compile(r"\((?:[^()]*(?:/|\bvia\b)[^()]*(?:AP|AFP|Reuters|Getty|Images|Photo|Pool)[^()]*|[^()]*Getty Images[^()]*)\)\s*$")
_WORD = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_STOP = frozenset("a an the of in on at to for by with from and or is are was were be did do does what who whom when where why how which this that".split())


def sentence_kind(text: str) -> str:
    """"question", "heading", "byline", "caption" or "" (an ordinary sentence)."""
    t = text.strip()
    if not t:
        return ""
    if t.endswith("?") or t.endswith("?”") or t.endswith('?"'):
        return "question"
    if t.startswith("#") or (not re.search(r"[.!?\"”’)]$", t) and len(t.split()) <= 14):
        return "heading"
    if _BYLINE.match(t) and len(t.split()) <= 12:
        return "byline"
    if _CREDIT.search(t):
        return "caption"
    return ""


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def echoes(question: str, sentence: str) -> bool:
    """A question-form sentence that says nothing the question does not: no evidence."""
    return sentence_kind(sentence) == "question" and _content(sentence) <= _content(question) | {"s"}


def names_absent(question: str, sentence: str, *context: str) -> bool:
    """True when the question names someone or something (a capitalised run), or a year, that
    neither the sentence nor its context (its article) mentions: "What did China say about the
    talks?" is not answered from an article that never mentions China, nor "Who won the 2022
    World Cup?" from one that never says 2022. Words match by prefix after
    folding, so "Russia" finds "Russian" and "Temur" finds "Temür"."""
    return bool(missing_names(question, sentence, *context))


def question_names(question: str) -> list[str]:
    """The names a question mentions (capitalised runs, not the sentence's first word)."""
    from qa.text import name_runs

    return [n for _, _, n in name_runs(question, sentence_starts=False)]


def missing_names(question: str, sentence: str, *context: str) -> frozenset[str]:
    """The question's names that neither the sentence nor its context mentions (names_absent)."""
    from qa.text import fold

    names = question_names(question)
    years = _YEAR.findall(question)
    if not names and not years:
        return frozenset()
    seen = _words_of(sentence).union(*(_words_of(c) for c in context))
    missing = {y for y in years if y not in seen}  # "the 2022 World Cup" is not answered from an article never naming 2022
    for name in names:
        words = [w for w in _WORD.findall(fold(name)) if w not in _STOP and len(w) > 2]
        if words and not any(s.startswith(w) or w.startswith(s) and len(s) > 3 for w in words for s in seen):
            missing.add(name)
    return frozenset(missing)


@lru_cache(maxsize=512)
def _words_of(text: str) -> frozenset[str]:
    """Folded words of a text (an article's is read for many questions: cached)."""
    from qa.text import fold

    return frozenset(_WORD.findall(fold(text)))


def strip_recency(question: str) -> str:
    """The question without its time words: "Where did the most recent earthquake strike?" ->
    "Where did the earthquake strike?". Time is then judged from the articles' dates, not from
    sentences that happen to say "most recent". The question as it was when nothing is left."""
    plain = re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", _TIME_WORDS.sub("", question))).strip()
    return plain if _content(plain) else question


def newest_relevant(question: str, best: list, recency: dict[str, float], articles: dict[str, dict],
                    headline: dict[str, float] | None = None) -> tuple[str, int]:
    """Of the articles' best readings (`best`, hits on one scale, one per article), the newest
    article among the relevant ones, and how many were relevant. Relevant: it mentions every
    name the question has, its best reading is within RECENT_MARGIN of the best one, and its
    headline is at least HEADLINE_MIN close to the question (when `headline` gives each
    article's cosine). Undated articles count as the oldest; the best reading wins ties, and
    when nothing qualifies (the best of those that mention the names, if any do).

    The headline matters because a reading only says that a sentence could answer: an
    interview with a candidate reads well for "Which party won the general election?", but news
    writes its headline to say what the story is ("Wikinews interviews …"), and that one is
    not an election result."""
    top = max(h.score for h in best)
    headline = headline or {}
    named = [h for h in best
             if not missing_names(question, h.sentence.text, *(articles.get(h.sentence.article_id, {}).get(f, "") for f in ("title", "text")))]
    relevant = [h for h in named if h.score >= top - RECENT_MARGIN and headline.get(h.sentence.article_id, 1.0) >= HEADLINE_MIN]
    if not relevant:
        return max(named or best, key=lambda h: h.score).sentence.article_id, 0
    return max(relevant, key=lambda h: (recency.get(h.sentence.article_id, -1.0), h.score)).sentence.article_id, len(relevant)


def recency_map(articles: dict[str, dict]) -> dict[str, float]:
    """Each dated article's place in the collection's span of dates, 0 (oldest) to 1 (newest)."""
    days: dict[str, int] = {}
    for aid, meta in articles.items():
        try:
            days[aid] = date.fromisoformat(str(meta.get("published") or meta.get("date") or "")[:10]).toordinal()
        except ValueError:
            continue
    if len(set(days.values())) < 2:
        return {}
    lo, hi = min(days.values()), max(days.values())
    return {aid: (d - lo) / (hi - lo) for aid, d in days.items()}


def relative(article_ids: list[str], recency: dict[str, float]) -> dict[str, float]:
    """Recency among these articles only, 0 (oldest of them) to 1 (newest): two storms a
    fortnight apart are far apart here, though close on the collection's fifteen years.
    (Ranks instead, newest 1 and the rest 0.5 or 0, did worse on eval/questions/recurring.jsonl:
    they promoted the newest of the irrelevant candidates as much as the newest relevant one.)"""
    values = {a: recency[a] for a in article_ids if a in recency}
    if len(set(values.values())) < 2:
        return {}
    lo, hi = min(values.values()), max(values.values())
    return {a: (v - lo) / (hi - lo) for a, v in values.items()}


def adjust(question: str, hits: list, recency: dict[str, float], depth: int) -> list:
    """The best `depth` hits re-scored for time and echoes, then re-sorted; the rest as they are."""
    if not hits:
        return hits
    head, tail = hits[:depth], hits[depth:]
    recent = bool(RECENT_RE.search(question))
    weight = RECENCY if recent else NUDGE
    place = relative([h.sentence.article_id for h in head], recency) if recent else recency
    rescored = []
    for h in head:
        kind = sentence_kind(h.sentence.text)
        delta = weight * place.get(h.sentence.article_id, 0.0) - DEMOTE.get(kind, 0.0) - (5.0 if echoes(question, h.sentence.text) else 0.0)
        rescored.append(replace(h, score=h.score + delta, signals={**h.signals, "kind_" + (kind or "sentence"): 1.0}) if delta else h)
    rescored.sort(key=lambda h: -h.score)
    return rescored + tail


def stale_note(question: str, article: dict, articles: dict[str, dict], newest_of: int = 0) -> str | None:
    """What the reply says of time for a question about now: which of several articles it
    chose ("from the newest of 4 articles about it, of 7 November 2020"), and when that
    article is much older than the collection's newest ("from an article of 12 May 2025; the
    newest article is of …"). `newest_of`: how many relevant articles the choice was among
    (qa.retrieve.Retriever.newest_first), 0 when none was made."""
    if not RECENT_RE.search(question):
        return None
    dates = [str(m.get("published") or "") for m in articles.values()]
    newest = max((d for d in dates if d), default="")
    used = str(article.get("published") or "")
    try:
        gap = (date.fromisoformat(newest[:10]) - date.fromisoformat(used[:10])).days
    except ValueError:
        return None
    chosen = f"from the newest of {newest_of} articles about it, of {display(used[:10])}" if newest_of >= 2 else ""
    if gap < STALE_DAYS:
        return chosen or None
    return f"{chosen or 'from an article of ' + display(used[:10])}; the newest article is of {display(newest[:10])}"
