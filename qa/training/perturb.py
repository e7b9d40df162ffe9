"""On-topic questions the article does not answer, made from ones it does.

SQuAD 2.0's lesson: a reader trained only on answerable questions learns "this sentence is
about the question", not "this sentence answers it". To teach the difference without
SQuAD 2.0 (whose dev set overlaps our benchmark), we perturb answerable questions:

1. find the question's key spans that its gold sentence also contains: a name (a run of
   capitalised words), a year, or another number;
2. pick one (names first, then years, then numbers; ties broken by a seeded RNG);
3. replace it with another span of the same kind taken from the same article, one that the
   gold paragraph does not contain, so the question stays on topic (same article, same
   kind of thing) while the gold sentence no longer answers it.

"When did Beyoncé release Dangerously in Love?" becomes "When did Jay Z release Dangerously
in Love?"; "How many people died in the 1906 earthquake?" becomes "... in the 1989
earthquake?". Some swaps are still answerable elsewhere, or are synonyms of the original
(noise of a few percent, measured by reading a sample: docs/reranker.md); the generator
is the same for training (SQuAD train) and for the benchmark (SQuAD-13), never tuned on the
latter.
"""

from __future__ import annotations

import random
import re

_QUESTION_WORDS = {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "in", "on", "at", "the",
    "a", "an", "of", "to", "for", "by", "from", "did", "does", "do", "is", "are", "was", "were",
    "according", "after", "before", "during", "along", "besides", "other", "name", "as", "if",
    "i", "it", "its", "this", "that", "these", "those", "there", "and", "or", "but", "with",
}
_NAME_RE = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:of|the|de|von|van|der|da|del|la|le|bin|al)?\s*[A-Z][\w'’\-]*)*")
_YEAR_RE = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})\b")
_NUMBER_RE = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w.,]?\d)")
KINDS = ("name", "year", "number")


_CONNECTORS = {"of", "the", "de", "von", "van", "der", "da", "del", "la", "le", "bin", "al"}


def _clean_name(text: str, offset: int) -> tuple[int, int, str] | None:
    """The name inside a capitalised run, without leading question words or trailing connectors."""
    words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", text)]
    while words and words[0][2].lower() in _QUESTION_WORDS:
        words = words[1:]
    while words and words[-1][2].lower() in _CONNECTORS:
        words = words[:-1]
    if not words:
        return None
    start, end = words[0][0], words[-1][1]
    return offset + start, offset + end, " ".join(text[start:end].split())


def spans(kind: str, text: str, sentence_starts: bool = True) -> list[tuple[int, int, str]]:
    """(start, end, text) of every span of `kind` in `text`.

    With sentence_starts=False, a capitalised word that opens a sentence is only a name when
    the next word is capitalised too ("The" opens sentences; "Jay Z" is a name anywhere)."""
    out = []
    if kind == "name":
        for m in _NAME_RE.finditer(text):
            found = _clean_name(m.group(0), m.start())
            if found is None or not re.search(r"[a-z]", found[2]):
                continue
            start, end, name = found
            opens = start == 0 or re.search(r"(?:[.!?]\s+|\n\s*)[\"'“‘(]?$", text[max(0, start - 4) : start])
            if opens and not sentence_starts and " " not in name:
                continue
            out.append((start, end, name))
    else:
        pattern = _YEAR_RE if kind == "year" else _NUMBER_RE
        for m in pattern.finditer(text):
            if kind == "number" and _YEAR_RE.fullmatch(m.group(0)):
                continue
            out.append((m.start(), m.end(), m.group(0)))
    return out


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def pools(article_text: str) -> dict[str, list[str]]:
    """Every distinct span of each kind in an article: the replacements `perturb` draws from."""
    out: dict[str, list[str]] = {}
    for kind in KINDS:
        seen: dict[str, str] = {}
        for _, _, t in spans(kind, article_text, sentence_starts=False):
            seen.setdefault(_norm(t), t)
        out[kind] = [t for n, t in sorted(seen.items()) if n]
    return out


def perturb(question: str, gold_sentence: str, gold_paragraph: str, article_pools: dict[str, list[str]], rng: random.Random) -> tuple[str, str, str] | None:
    """(new question, replaced span, replacement) or None when no key span can be swapped.

    Args:
        question: an answerable question.
        gold_sentence: the sentence that answers it.
        gold_paragraph: that sentence's paragraph (replacements must not occur in it).
        article_pools: `pools(article text)`.
        rng: chooses the span and its replacement.
    """
    gold = f" {_norm(gold_sentence)} "
    paragraph = f" {_norm(gold_paragraph)} "
    for kind in KINDS:
        keys = [(s, e, t) for s, e, t in spans(kind, question) if _norm(t) and f" {_norm(t)} " in gold]
        if kind == "name":
            keys = [k for k in keys if k[2].split()[0].lower() not in _QUESTION_WORDS]
        if not keys:
            continue
        s, e, old = rng.choice(keys)
        o = _norm(old)
        pool = [
            t for t in article_pools.get(kind, [])
            if f" {_norm(t)} " not in paragraph and _norm(t) not in o and o not in _norm(t)
            and (kind != "name" or abs(len(t.split()) - len(old.split())) <= 1)
        ]
        if not pool:
            continue
        new = rng.choice(pool)
        return question[:s] + new + question[e:], old, new
    return None
