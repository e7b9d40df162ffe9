"""A question set asked in one warm process: every reply scored, then summarised.

Returns data only (`{"summary": ..., "questions": [...]}`); qa.evaluation.reports renders it
and the CLI prints it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from qa.evaluation.questions import EvalQuestion, Scored, score
from qa.metrics import percentile

# The project's own question sets, as `make eval-reports` runs them: (name, the index it is
# asked on, the question file), paths relative to the project root. eval/compare_readers.py and
# eval/encoder_study.py judge a model on all of them.
PROJECT_SETS = (
    ("seed", "indexes/default", "eval/questions/seed.jsonl"),
    ("seed+wikinews", "indexes/seed-wikinews", "eval/questions/seed.jsonl"),
    ("conversations", "indexes/seed-wikinews", "eval/questions/conversations.jsonl"),
    ("recurring", "indexes/seed-wikinews", "eval/questions/recurring.jsonl"),
    ("news-dev", "indexes/seed-wikinews", "eval/questions/news-dev.jsonl"),
)


def _mean(values: Iterable[float | bool | None]) -> tuple[float | None, int]:
    vals = [float(v) for v in values if v is not None]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def summarize(rows: list[Scored]) -> dict:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    acc, _ = _mean(r.answer_correct for r in answerable)
    prec, n_prec = _mean(r.citation_precision for r in rows)
    rec, n_rec = _mean(r.citation_recall for r in rows)
    abst, _ = _mean(r.abstention_correct for r in unanswerable)
    false_abst, _ = _mean(r.abstained for r in answerable)
    latencies = [r.latency_ms for r in rows]
    first, _ = _mean(r.first_citation_correct for r in answerable)
    from qa.news import sentence_kind

    cited = [c for r in rows for c in r.cited]
    return {
        "answer_accuracy": acc,
        "citation_precision": prec,
        "citation_recall": rec,
        "abstention_accuracy": abst,
        "false_abstention_rate": false_abst,
        "mean_citations": (sum(len(r.cited) for r in rows) / len(rows)) if rows else None,
        "first_citation_accuracy": first,
        "latency_p50_ms": round(percentile(latencies, 50), 2),
        "latency_p95_ms": round(percentile(latencies, 95), 2),
        "n_questions": len(rows),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "n_with_citations": n_prec,
        "n_with_evidence": n_rec,
        "n_cited": len(cited),
        # Quoted sentences that cannot be an answer: questions, headings, bylines (issue 14).
        "n_cited_non_answers": sum(sentence_kind(c) in ("question", "heading", "byline") for c in cited),
    }


Ask = Callable[[str, list[Any]], Any]  # (question, history turns) -> qa.answer.Answer


def conversation(ask: Ask, history: list[str], cache: dict) -> list[dict]:
    """The turns before a follow-up, as the chat has them: each earlier question is asked in
    order and the product's own reply (the sentences it cited, their titles) is what the
    conversation remembers. Prefixes shared by several questions are asked once."""
    turns: list[dict] = []
    for i, earlier in enumerate(history):
        key = tuple(history[: i + 1])
        if key not in cache:
            ans = ask(earlier, turns)
            cache[key] = [*turns, {"question": earlier, "short_answer": ans.short_answer or "",
                                   "citations": [{"text": c.text, "title": c.title} for c in ans.citations]}]
        turns = cache[key]
    return turns


def run_question_set(questions: list[EvalQuestion], ask: Ask, progress: bool = True) -> dict:
    """Asks every question in one warm process and scores the replies.

    A follow-up's `history` (earlier user turns) is replayed first (`conversation`), so the
    follow-up is asked the way the chat asks it: after the product's own earlier answers.
    Only the follow-up itself is timed and scored.

    Args:
        questions: the parsed question set.
        ask: answers one question; typically `Assistant.ask`.
        progress: show a progress bar on stderr.
    Returns:
        {"summary": {...}, "questions": [...]} as `qa eval --json` prints it.
    """
    from tqdm import tqdm

    rows: list[Scored] = []
    cache: dict = {}
    for q in tqdm(questions, desc="questions", unit="q", disable=not progress, leave=False):
        turns = conversation(ask, list(q.history), cache)
        t0 = time.perf_counter()
        ans = ask(q.question, turns)
        latency = (time.perf_counter() - t0) * 1000
        cited = [c.text for c in ans.citations]
        s = score(q, ans.text, ans.abstained, cited)
        rows.append(
            Scored(
                id=q.id,
                question=q.question,
                history=list(q.history),
                answerable=q.answerable,
                reply=ans.text,
                abstained=ans.abstained,
                cited=cited,
                cited_ids=[f"{c.article_id}#{c.sentence_index}" for c in ans.citations],
                understood=getattr(ans, "query", q.question),
                latency_ms=round(latency, 2),
                **s,
            )
        )
    return {"summary": summarize(rows), "questions": [asdict(r) for r in rows]}
