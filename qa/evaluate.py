"""Question sets -> scores, implementing ../shared/eval-format.md (docs/evaluation.md says how).

Normalisation is SQuAD's official one (lower-case, drop punctuation, drop a/an/the, collapse
white space), with typographic quotes and apostrophes counted as punctuation. Two readings
of the rules that a reader of the format might ask about:
- "contains" is plain substring containment of the normalised strings, as the format says;
  normalisation glues hyphenated words, so "49" is found in "the 49-year-old head";
- a cited sentence "overlaps" an evidence string when, normalised, one contains the other,
  or an end of one is the start of the other over at least 4 words (evidence quoted across
  a sentence boundary).
"""

from __future__ import annotations

import json
import re
import string
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from qa.errors import QAError

DEFAULT_QUESTIONS = Path("eval/questions/seed.jsonl")
_PUNCT = set(string.punctuation) | set("\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033\u00ab\u00bb\u2039\u203a")
_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")
MIN_BOUNDARY_OVERLAP_WORDS = 4


def normalize(text: str) -> str:
    """SQuAD normalisation, typographic quotes included in the punctuation."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES_RE.sub(" ", text)
    return " ".join(text.split())


def contains(haystack: str, needle: str) -> bool:
    """Substring containment of already normalised strings."""
    return needle in haystack


def overlaps(sentence: str, evidence: str) -> bool:
    """One contains the other, or they meet across a boundary over >= 4 words (normalised)."""
    if contains(sentence, evidence) or contains(evidence, sentence):
        return True
    s, e = sentence.split(), evidence.split()
    for n in range(min(len(s), len(e)) - 1, MIN_BOUNDARY_OVERLAP_WORDS - 1, -1):
        if s[-n:] == e[:n] or e[-n:] == s[:n]:
            return True
    return False


# ----------------------------------------------------------------------------- the file format


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    match: str = "any"
    evidence: tuple[str, ...] = ()
    answerable: bool = True
    history: tuple[str, ...] = ()


def _str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def parse_question(obj: object) -> EvalQuestion:
    """One decoded JSON line -> EvalQuestion; ValueError says which field is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    for key in ("id", "question"):
        if key not in obj:
            raise ValueError(f"missing required field {key!r}")
        if not isinstance(obj[key], str) or not obj[key].strip():
            raise ValueError(f"{key!r} must be a non-empty string")
    if "answers" not in obj:
        raise ValueError("missing required field 'answers' (use [] for unanswerable questions)")
    for key in ("answers", "evidence", "history"):
        if key in obj and not _str_list(obj[key]):
            raise ValueError(f"{key!r} must be a list of strings")
    match = obj.get("match", "any")
    if match not in ("any", "all"):
        raise ValueError(f"'match' must be \"any\" or \"all\", not {match!r}")
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ValueError("'answerable' must be true or false")
    if answerable and not obj["answers"]:
        raise ValueError("an answerable question needs at least one string in 'answers'")
    return EvalQuestion(
        id=obj["id"],
        question=obj["question"],
        answers=tuple(obj["answers"]),
        match=match,
        evidence=tuple(obj.get("evidence", [])),
        answerable=answerable,
        history=tuple(obj.get("history", [])),
    )


def load_questions(path: Path) -> list[EvalQuestion]:
    """Reads a JSON Lines question set; any malformed line is a QAError naming file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise QAError(f"question set {path} not found; pass --questions FILE") from None
    except UnicodeDecodeError:
        raise QAError(f"{path}: not UTF-8 text; save the question set as UTF-8 JSON Lines") from None
    questions, seen = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            q = parse_question(json.loads(line))
        except json.JSONDecodeError as exc:
            raise QAError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except ValueError as exc:
            raise QAError(f"{path}:{number}: {exc}") from None
        if q.id in seen:
            raise QAError(f"{path}:{number}: duplicate id {q.id!r}")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise QAError(f"{path}: no questions in the file")
    return questions


# ----------------------------------------------------------------------------- scoring


@dataclass
class Scored:
    """One question's reply and scores; a score is None where the rule does not apply."""

    id: str
    question: str
    history: list[str]
    answerable: bool
    reply: str
    abstained: bool
    cited: list[str]
    cited_ids: list[str]
    answer_correct: bool | None
    citation_precision: float | None
    citation_recall: float | None
    abstention_correct: bool | None
    latency_ms: float


def score(q: EvalQuestion, reply: str, abstained: bool, cited: list[str]) -> dict:
    """The per-question scores of eval-format.md for one reply."""
    norm_reply = normalize(reply)
    answers = [normalize(a) for a in q.answers]
    evidence = [normalize(e) for e in q.evidence]
    sents = [normalize(c) for c in cited]
    correct = None
    if q.answerable:
        found = [contains(norm_reply, a) for a in answers]
        correct = (not abstained) and bool(found) and (all(found) if q.match == "all" else any(found))
    recall = None
    if q.answerable and evidence:
        recall = sum(any(overlaps(s, e) for s in sents) for e in evidence) / len(evidence)
    precision = None
    if sents:
        good = [any(contains(s, a) for a in answers if a) or any(overlaps(s, e) for e in evidence) for s in sents]
        precision = sum(good) / len(good)
    return {
        "answer_correct": correct,
        "citation_precision": precision,
        "citation_recall": recall,
        "abstention_correct": (abstained if not q.answerable else None),
    }


def _mean(values: Iterable[float | bool | None]) -> tuple[float | None, int]:
    vals = [float(v) for v in values if v is not None]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def summarize(rows: list[Scored]) -> dict:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    acc, _ = _mean(r.answer_correct for r in answerable)
    prec, n_prec = _mean(r.citation_precision for r in rows)
    rec, n_rec = _mean(r.citation_recall for r in rows)
    abst, _ = _mean(r.abstention_correct for r in unanswerable)
    false_abst, _ = _mean(r.abstained for r in answerable)
    latencies = [r.latency_ms for r in rows]
    return {
        "answer_accuracy": acc,
        "citation_precision": prec,
        "citation_recall": rec,
        "abstention_accuracy": abst,
        "false_abstention_rate": false_abst,
        "mean_citations": (sum(len(r.cited) for r in rows) / len(rows)) if rows else None,
        "latency_p50_ms": round(percentile(latencies, 50), 2),
        "latency_p95_ms": round(percentile(latencies, 95), 2),
        "n_questions": len(rows),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "n_with_citations": n_prec,
        "n_with_evidence": n_rec,
    }


Ask = Callable[[str, list[str]], object]  # (question, history) -> qa.answer.Answer


def run_question_set(questions: list[EvalQuestion], ask: Ask, progress: bool = True) -> dict:
    """Asks every question in one warm process and scores the replies.

    Args:
        questions: the parsed question set.
        ask: answers one question; typically `Assistant.ask`.
        progress: show a progress bar on stderr.
    Returns:
        {"summary": {...}, "questions": [...]} as `qa eval --json` prints it.
    """
    from tqdm import tqdm

    rows: list[Scored] = []
    for q in tqdm(questions, desc="questions", unit="q", disable=not progress, leave=False):
        t0 = time.perf_counter()
        ans = ask(q.question, list(q.history))
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
                latency_ms=round(latency, 2),
                **s,
            )
        )
    return {"summary": summarize(rows), "questions": [asdict(r) for r in rows]}


def format_summary(summary: dict) -> str:
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    return "\n".join(
        [
            f"questions           {summary['n_questions']} ({summary['n_answerable']} answerable, {summary['n_unanswerable']} unanswerable)",
            f"answer accuracy     {pct(summary['answer_accuracy'])}",
            f"citation precision  {pct(summary['citation_precision'])}  (over {summary['n_with_citations']} replies with citations)",
            f"citation recall     {pct(summary['citation_recall'])}  (over {summary['n_with_evidence']} questions with evidence)",
            f"abstention accuracy {pct(summary['abstention_accuracy'])}  (unanswerable)",
            f"false abstentions   {pct(summary['false_abstention_rate'])}  (answerable)",
            f"mean citations      {pct(summary['mean_citations'])}",
            f"latency             p50 {summary['latency_p50_ms']:.1f} ms, p95 {summary['latency_p95_ms']:.1f} ms",
        ]
    )


def run_eval_command(args, settings) -> int:
    """`qa eval`: a question set (default: the project's own) or a public benchmark."""
    if args.benchmark:
        from qa.benchmarks import run_benchmark_command

        return run_benchmark_command(args, settings)
    if args.data or args.compare:
        raise QAError("--data and --compare go with --benchmark squad|hotpot")
    path = args.questions or DEFAULT_QUESTIONS
    questions = load_questions(path)
    if args.limit:
        questions = questions[: args.limit]
    from qa.service import Assistant

    assistant = Assistant(settings)
    assistant.warm_up()
    result = run_question_set(questions, lambda q, h: assistant.ask(q, history=h), progress=not args.json)
    result["settings"] = {"questions": str(path), "index": str(settings.index_dir), "index_version": assistant.index.version}
    if args.report:
        from qa.report import write_question_set_report

        write_question_set_report(args.report, result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_summary(result["summary"]))
        if args.report:
            print(f"report written to {args.report}")
    return 0
