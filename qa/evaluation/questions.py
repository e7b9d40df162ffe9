"""The question-set file format of ../shared/eval-format.md and its per-question scoring rules.

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
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.metrics import normalize

DEFAULT_QUESTIONS = Path("eval/questions/seed.jsonl")
MIN_BOUNDARY_OVERLAP_WORDS = 4


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
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QAError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except (RecursionError, ValueError) as exc:  # nesting over ~1,000 levels; a number over 4,300 digits
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
            raise QAError(f"{path}:{number}: not valid JSON ({why})") from None
        try:
            q = parse_question(obj)
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
    understood: str
    answer_correct: bool | None
    citation_precision: float | None
    citation_recall: float | None
    abstention_correct: bool | None
    first_citation_correct: bool | None
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
    first = None
    if q.answerable:
        first = bool(sents) and (any(contains(sents[0], a) for a in answers if a) or any(overlaps(sents[0], e) for e in evidence))
    return {
        "first_citation_correct": first,
        "answer_correct": correct,
        "citation_precision": precision,
        "citation_recall": recall,
        "abstention_correct": (abstained if not q.answerable else None),
    }
