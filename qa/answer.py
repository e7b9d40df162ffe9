"""Ranked sentences -> `Answer`: the sentence(s) that answer, quoted verbatim, or an abstention.

The reply is extractive: it quotes the best sentence and, only when they add something,
up to two more (a second sentence must be nearly as close to the question as the first,
and not a near-copy of one already quoted, such as a photo caption printed twice). Every
quote carries a marker [n] and a `Citation` with the article, sentence number and
character span in the original text.

Abstention: evidence strength is, over the top 3 sentences, the best of cosine similarity
plus `coverage_weight` x the share of the question's terms the sentence contains (meaning and
wording both count); the reader's probability that the best sentence answers is added with
`answer_prob_weight`. Below `Settings.abstain_below` the reply says the articles don't say,
and lists the closest sentences separately, marked as not an answer. How the weights and the
threshold were chosen is in docs/design.md and eval/reports/abstention.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

from qa import answer_type, news
from qa.documents import page_of
from qa.filters import Filters
from qa.query import check_question, reader_query, resolve, retrieval_query, turns_from
from qa.retrieve import Hit, Retriever
from qa.sentences import Sentence
from qa.settings import Settings
from qa.units import with_units

ABSTAIN_TEXT = "The articles don't say."
_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class Citation:
    """One quoted sentence: where it is, what it says, and how strongly it matched."""

    n: int
    article_id: str
    title: str
    source: str
    date: str
    sentence_index: int
    paragraph: int
    start: int
    end: int
    text: str
    score: float
    page: int | None = None  # in a PDF, the page the sentence is on (from 1)


@dataclass
class Answer:
    """What the user is shown: `text` quotes the cited sentences, or says the articles don't say."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    query: str = ""
    closest: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    short_answer: str | None = None  # a date, number or name lifted from citation [1] (qa.answer_type)
    note: str | None = None  # "from the newest of 4 articles about it, of 8 August 2020; the newest article is of …" (qa.news.stale_note)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "abstained": self.abstained,
            "short_answer": self.short_answer,
            "note": self.note,
            "citations": [asdict(c) for c in self.citations],
            "closest": [asdict(c) for c in self.closest],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD_RE.findall(text)}


def _near_copy(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    return bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) > 0.7


def select(hits: list[Hit], settings: Settings) -> list[Hit]:
    """The one to three hits to quote, best first."""
    if not hits:
        return []
    top = hits[0]
    chosen = [top]
    if "newest_of" in top.signals:
        # A question about now is answered from the article chosen as the newest relevant one
        # (qa.retrieve.Retriever.newest_first); an older article's sentence quoted beside it
        # would answer for another event of the kind (last year's flood, an earlier race).
        hits = [h for h in hits if h.sentence.article_id == top.sentence.article_id]
    top_prob = top.signals.get("answer_prob")

    def reader_rules_out(hit: Hit) -> bool:  # read with the top one, and a small share of its chance
        p = hit.signals.get("answer_prob")
        return top_prob is not None and p is not None and p < settings.extra_prob_ratio * top_prob

    # When the reranker overruled the first stage, the two disagree: the first stage's best
    # is quoted second, so that a miss of one of them still leaves the answer on screen,
    # unless the reader is sure it does not answer.
    reranked = [h for h in hits if "first_stage" in h.signals]
    if reranked and settings.max_citations > 1:
        first_choice = max(reranked, key=lambda h: h.signals["first_stage"])
        if (first_choice.position != top.position and not _near_copy(first_choice.sentence.text, top.sentence.text)
                and not reader_rules_out(first_choice)):
            chosen.append(first_choice)
    top_dense = top.signals.get("dense", 0.0)
    top_bm25 = top.signals.get("bm25", 0.0)
    for hit in hits[1 : settings.max_citations + 2]:
        if len(chosen) >= settings.max_citations:
            break
        if any(hit.position == c.position for c in chosen):
            continue
        close = (
            hit.signals.get("dense", 0.0) >= top_dense - settings.extra_cosine_margin
            and hit.signals.get("bm25", 0.0) >= settings.extra_bm25_ratio * top_bm25
        )
        if close and not reader_rules_out(hit) and not any(_near_copy(hit.sentence.text, c.sentence.text) for c in chosen):
            chosen.append(hit)
    return chosen


def evidence_strength(hits: list[Hit], coverage_weight: float, rerank_weight: float = 0.0) -> float:
    """How well the best sentences match the question, over the top 3: max(cosine +
    coverage_weight x share of the question's terms in the sentence + rerank_weight x the
    cross-encoder's logit, when it read the sentence)."""
    return max(
        (
            h.signals.get("dense", 0.0) + coverage_weight * h.signals.get("coverage", 0.0) + rerank_weight * h.signals.get("rerank", 0.0)
            for h in hits[:3]
        ),
        default=0.0,
    )


def _citation(n: int, hit: Hit, articles: dict[str, dict]) -> Citation:
    s = hit.sentence
    meta = articles.get(s.article_id, {})
    return Citation(
        n=n,
        article_id=s.article_id,
        title=meta.get("title") or meta.get("display_title", ""),
        source=meta.get("source", ""),
        date=meta.get("published") or meta.get("date", ""),
        sentence_index=s.index,
        paragraph=s.paragraph,
        start=s.start,
        end=s.end,
        text=s.text,
        score=round(hit.score, 6),
        page=page_of(meta.get("pages") or (), s.start),
    )


def _bridged(article: dict, admitted: str) -> bool:
    """True when an admitted sentence names this article (its title, at least 4 characters)."""
    title = str(article.get("title") or "").strip()
    return len(title) >= 4 and title.casefold() in admitted.casefold()


def _context(hit: Hit, articles: dict[str, dict]) -> tuple[str, str]:
    """The sentence's article and its title: a sentence says "the talks" where its article
    said "the Riyadh talks" a paragraph before."""
    meta = articles.get(hit.sentence.article_id, {})
    return meta.get("title", ""), meta.get("text", "")


def compose(
    question: str,
    query: str,
    hits: list[Hit],
    articles: dict[str, dict],
    settings: Settings,
    use_cosine: bool = True,
    sentences: list[Sentence] | None = None,
) -> Answer:
    """The reply for ranked `hits`: quote the best one to three, or abstain when evidence is weak.
    With the index's `sentences`, a quote that leans on its neighbours brings them (`with_units`)."""
    evidence = admissible(query, hits, articles)
    if not evidence or (use_cosine and abstains(evidence, settings)) or lacks_wanted_kind(query, evidence):
        closest = [_citation(i + 1, h, articles) for i, h in enumerate(hits[: settings.max_citations])]
        return Answer(question, ABSTAIN_TEXT, [], True, query=query, closest=closest)
    chosen = select(evidence, settings)
    if sentences is not None:
        chosen = with_units(chosen, sentences, settings.max_citations + 2, settings.pair_share)
    citations = [_citation(i + 1, h, articles) for i, h in enumerate(chosen)]
    text = "\n".join(f"{c.text} [{c.n}]" for c in citations)
    newest_of = int(next((h.signals["newest_of"] for h in chosen if "newest_of" in h.signals), 0))
    note = news.stale_note(query, articles.get(citations[0].article_id, {}), articles, newest_of)
    return Answer(question, text, citations, False, query=query, short_answer=short_answer(query, chosen, settings), note=note)


# "What else did he say?", "Which other countries sent troops?": the user has read the
# earlier replies and asks past them.
_PAST_EARLIER = re.compile(r"\b(?:else|others?|another|besides|apart from|aside from|in addition to)\b", re.IGNORECASE)


def past_earlier(question: str, hits: list[Hit], turns: list) -> list[Hit]:
    """For a question that asks past the earlier replies ("What else did he say?"), the hits
    those replies quoted go after the rest: quoting the same sentence again would answer
    nothing new. They stay (last), so a conversation that has nothing more still finds them."""
    said = [t.answer for t in turns if t.answer]
    if not said or not _PAST_EARLIER.search(question):
        return hits
    fresh = [h for h in hits if not any(h.sentence.text in a for a in said)]
    return fresh + [h for h in hits if h not in fresh]


def admissible(query: str, hits: list[Hit], articles: dict[str, dict]) -> list[Hit]:
    """The hits that may count as evidence, in order."""
    # A question asks and tells nothing: no question-form sentence is evidence (an interview's
    # "what share of the vote do you expect?" does not answer a question about polls), though
    # it stays searchable and may be shown among the closest sentences. A sentence whose
    # article never mentions what the question names does not answer it. A question naming
    # several things may be answered by several articles, each naming some ("Which band,
    # Letters to Cleo or Screaming Trees, had more members?"): a sentence whose article names
    # part of them counts when the candidates' articles together name them all, or when an
    # admitted sentence names its article (the second step of "the director of Big Stone Gap
    # is based where?").
    plain = [h for h in hits if news.sentence_kind(h.sentence.text) != "question"]
    missing = {h.position: news.missing_names(query, h.sentence.text, *_context(h, articles)) for h in plain}
    names = set(news.question_names(query))
    all_named = len(names) > 1 and all(any(n not in missing[h.position] for h in plain) for n in names)
    admitted = " ".join(h.sentence.text for h in plain if not missing[h.position])
    return [
        h for h in plain
        if not missing[h.position]
        or (all_named and len(missing[h.position]) < len(names))
        or _bridged(articles.get(h.sentence.article_id, {}), admitted)
    ]


# Without the reader (rerank depth 0) the rule is the one chosen before the reader had an
# answer head: evidence strength below 0.72, or below `abstain_below` when that is lower (so that
# abstain_below 0 turns abstention off with or without the reader).
NO_READER_BELOW = 0.72


def abstention_score(evidence: list[Hit], settings: Settings) -> float:
    """Evidence strength + `answer_prob_weight` x the reader's probability that the best
    evidence sentence answers; the reply abstains below `settings.abstain_below`. Without the
    reader's probability, strength is put on the same scale so that the rule is strength <
    min(0.72, abstain_below)."""
    if not evidence:
        return 0.0
    strength = evidence_strength(evidence, settings.coverage_weight)
    p = evidence[0].signals.get("answer_prob")
    return strength + (settings.answer_prob_weight * p if p is not None else max(0.0, settings.abstain_below - NO_READER_BELOW))


def lacks_wanted_kind(query: str, evidence: list[Hit]) -> bool:
    """True when the question cannot be answered without a number or a date ("How many troops
    will Europe send?", "In what year …?") and none of the best 3 evidence sentences holds one
    it does not already contain: however close they are to its words, they do not answer it.
    Evidence strength cannot see this; the on-topic questions it lets through are often these."""
    kind = answer_type.strictly_typed(query)
    return kind is not None and not any(answer_type.spans(kind, h.sentence.text, query) for h in evidence[:3])


def abstains(evidence: list[Hit], settings: Settings) -> bool:
    """Whether evidence this weak gets "the articles don't say"."""
    return abstention_score(evidence, settings) < settings.abstain_below


def short_answer(query: str, chosen: list[Hit], settings: Settings) -> str | None:
    """The short answer shown in bold: the reader's answer span in the best quoted sentence
    (or in the sentence quoted after it, when the reader gives that one the higher answer
    probability) when its probability reaches `settings.span_min`, else the one date, number
    or name of the kind the question asks for in that sentence (qa.answer_type), else none."""
    top = next((h for h in chosen if "unit_of" not in h.signals), None)
    if top is None:
        return None
    # A sentence quoted after it because the reader says it answers too answers from there when
    # it answers better: "The prize was shared between James Peebles and …" after the lede
    # that announced the winners (whose best span is the academy that announced them).
    pair = next((h for h in chosen if h.signals.get("unit_of") == float(top.position) and "pair_prob" in h.signals), None)
    if pair is not None and pair.signals["pair_prob"] > top.signals.get("answer_prob", 1.0):
        top = pair
    s, text = top.signals, top.sentence.text
    if s.get("span_prob", 0.0) >= settings.span_min:
        span = text[int(s["span_start"]) : int(s["span_end"])].strip(" ,;:")
        if span and len(span) < 0.8 * len(text):
            return span
    return answer_type.short_answer(query, text)


def answer(
    question: str,
    retriever: Retriever,
    settings: Settings,
    history: list | tuple = (),
    filters: Filters | None = None,
) -> Answer:
    """Answers one question (a follow-up when `history` holds the earlier user turns).

    Args:
        question: what the user asked.
        retriever: ranks the sentences of the loaded index.
        settings: thresholds and limits.
        history: earlier turns, oldest first: questions, or {"question", "answer"} /
            {"question", "citations"} objects (qa.query.turns_from).
        filters: only articles these admit may answer (source, dates, ids).
    Returns:
        An Answer; raises QAError for an empty or over-long question.
    """
    t0 = time.perf_counter()
    question = check_question(question, settings)
    turns = turns_from(history)
    for n, turn in enumerate(turns, 1):
        check_question(turn.question, settings, f"history item {n}")
    understood = resolve(question, turns, retriever.index.gender)
    search_text = retrieval_query(question, understood, turns)
    t1 = time.perf_counter()
    qvec = retriever.embed_query(search_text) if retriever.mode != "bm25" else None
    t2 = time.perf_counter()
    allowed = filters.mask(retriever.index) if filters else None
    read_as = reader_query(understood, search_text, turns)
    hits = past_earlier(question, retriever.search(search_text, k=settings.candidates_shown, query_vector=qvec, allowed=allowed, read_as=read_as), turns)
    hits = retriever.with_coverage(understood, hits[:3]) + hits[3:]
    t3 = time.perf_counter()
    result = compose(question, understood, hits, retriever.index.articles, settings, use_cosine=retriever.mode != "bm25",
                     sentences=retriever.index.sentences)
    t4 = time.perf_counter()
    result.timings_ms = {
        "rewrite": (t1 - t0) * 1000,
        "embed": (t2 - t1) * 1000,
        "search": (t3 - t2) * 1000,
        "compose": (t4 - t3) * 1000,
        "total": (t4 - t0) * 1000,
    }
    return result
