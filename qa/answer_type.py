"""What kind of answer a question wants, and the short span of that kind in a sentence.

Three kinds, chosen because they can be found with patterns alone and are common in news
questions: a date for "when"/"what year", a number for "how many"/"how much", a person's
name for "who". `short_answer` lifts the span out of the cited sentence only when exactly
one span of the wanted kind is there and the question does not already contain it, and
only for dates and numbers (names were right only half the time); the reply shows it in
bold above the quote. When in doubt it returns None: a wrong bold answer
over a right quote does more harm than none. Precision and coverage on SQuAD-13:
docs/reranker.md.
"""

from __future__ import annotations

import re

_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan\.|Feb\.|Mar\.|Apr\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
_YEAR = r"(?:1[0-9]{3}|20[0-9]{2})"
_DATE_RE = re.compile(
    rf"\b(?:{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?"
    rf"|\d{{1,2}}\s+{_MONTHS}(?:\s+{_YEAR})?"
    rf"|{_MONTHS}\s+{_YEAR}"
    rf"|(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)\s+century"
    rf"|{_YEAR}s?)\b"
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen"
)
_NUMBER_RE = re.compile(
    rf"(?<![\w.,])(?:(?:about|around|nearly|almost|over|more than|some)\s+)?"
    rf"(?:\$|£|€)?(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?|(?:{_NUMBER_WORDS})(?:-(?:{_NUMBER_WORDS}))?)"
    rf"(?:\s+(?:hundred|thousand|million|billion|trillion)|(?:bn|tn|mn|m|k)\b)?(?:\s?(?:%|percent|per cent))?(?![\w]|[.,]\d)",
    re.IGNORECASE,
)
_NAME_RE = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:[A-Z]\.|(?:de|van|von|bin|al)\b|[A-Z][a-z'’]+)){0,3}\s+[A-Z][a-z'’]+\b")

_KINDS = (
    ("date", re.compile(r"^\s*(?:when\b|(?:in |on |by |since )?(?:what|which) (?:year|date|day|month|decade|century)\b)", re.I)),
    ("number", re.compile(r"\bhow (?:many|much)\b|^\s*(?:what|which) (?:number|percentage|amount)\b", re.I)),
    ("person", re.compile(r"^\s*(?:who|whom)\b", re.I)),
)
_FINDERS = {"date": _DATE_RE, "number": _NUMBER_RE, "person": _NAME_RE}


def wanted(question: str) -> str | None:
    """"date", "number", "person" or None (any other question)."""
    for kind, pattern in _KINDS:
        if pattern.search(question):
            return kind
    return None


def spans(kind: str, sentence: str, question: str = "") -> list[str]:
    """The spans of `kind` in `sentence` that the question does not already contain."""
    q = question.lower()
    found = []
    for m in _FINDERS[kind].finditer(sentence):
        text = m.group(0).strip()
        if kind == "number" and _DATE_RE.fullmatch(text) and re.fullmatch(_YEAR, text):
            continue  # a bare year answers "when", not "how many"
        if text.lower() not in q and text not in found:
            found.append(text)
    return found


# Questions whose answer cannot be phrased without a span of their kind: a count or an amount,
# an explicit year or date. "When" is not among them: news answers it with "on Tuesday",
# "shortly after the meeting".
_STRICT = re.compile(r"\bhow (?:many|much)\b|^\s*(?:what|which) (?:number|percentage|amount)\b|"
                     r"^\s*(?:in |on |by |since )?(?:what|which) (?:year|date|month|decade|century)\b", re.I)


def strictly_typed(question: str) -> str | None:
    """The kind ("number" or "date") a question cannot be answered without, or None."""
    kind = wanted(question)
    return kind if kind in ("number", "date") and _STRICT.search(question) else None


def agrees(question: str, sentence: str) -> float:
    """1.0 when the question wants a kind and the sentence holds a new span of it, else 0.0."""
    kind = wanted(question)
    return 1.0 if kind and spans(kind, sentence, question) else 0.0


# Kinds reliable enough to show in bold. Measured on SQuAD-13 (eval/reports/squad.md): dates
# 0.87 and numbers 0.87 precise; names only 0.52 (the sentence's one name is often not the
# one asked for), so "who" questions get no bold answer.
SHOWN_KINDS = ("date", "number")


def short_answer(question: str, sentence: str) -> str | None:
    """The one span of the wanted kind in the sentence, or None when there is none or several."""
    kind = wanted(question)
    if kind not in SHOWN_KINDS:
        return None
    found = spans(kind, sentence, question)
    return found[0] if len(found) == 1 else None
