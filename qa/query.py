"""Turn a follow-up question into a standalone query, using the earlier user turns.

No language model is available offline, so the rewrite is deliberately simple and
predictable: when the question leans on an earlier turn (a third-person pronoun, "there",
"that", or too few words of its own), the most recent name found in the history replaces
the first personal pronoun ("What did he say?" after "Who is Yuri Ushakov?" becomes
"What did Yuri Ushakov say?"); when there is no name, or no pronoun to replace, the
previous turn is appended so that retrieval sees its words. Standalone questions pass
through unchanged.
"""

from __future__ import annotations

import re

_PERSONAL = {"he": "{}", "she": "{}", "him": "{}", "they": "{}", "them": "{}", "his": "{}'s", "her": "{}", "their": "{}'s", "hers": "{}'s"}
_ANAPHORA_RE = re.compile(r"\b(he|she|him|his|her|hers|they|them|their|it|its|this|that|these|those|there|then)\b", re.IGNORECASE)
_PERSONAL_RE = re.compile(r"\b(he|she|him|his|her|hers|they|them|their)\b", re.IGNORECASE)
_NAME_RE = re.compile(r"\b([A-Z][\w'’.-]+(?:\s+(?:bin|al|de|von|van|der|la)?\s*[A-Z][\w'’.-]+)*)")
_QUESTION_WORDS = {
    "who", "what", "when", "where", "why", "how", "which", "whom", "whose", "is", "are", "was",
    "were", "did", "does", "do", "can", "could", "would", "should", "tell", "and", "the", "a",
    "in", "on", "at", "about", "for", "i", "me",
}
_CONTENT_RE = re.compile(r"[A-Za-z0-9]{3,}")


def _names(text: str) -> list[str]:
    """Capitalised word runs that are not just question words, in order of appearance."""
    found = []
    for m in _NAME_RE.finditer(text):
        words = [w for w in m.group(1).split() if w.lower().strip(".") not in _QUESTION_WORDS]
        if words:
            found.append(" ".join(words).rstrip(".?!,"))
    return found


def needs_context(question: str) -> bool:
    content = [w for w in _CONTENT_RE.findall(question) if w.lower() not in _QUESTION_WORDS]
    return bool(_ANAPHORA_RE.search(question)) or len(content) < 2


def contextualize(question: str, history: list[str] | tuple[str, ...] = ()) -> str:
    """The query to retrieve with: `question`, made standalone using `history` (oldest first)."""
    turns = [h.strip() for h in history if h and h.strip()]
    if not turns or not needs_context(question):
        return question
    entity = next((n for turn in reversed(turns) for n in reversed(_names(turn))), None)
    m = _PERSONAL_RE.search(question)
    if entity and m:
        template = _PERSONAL[m.group(1).lower()]
        return question[: m.start()] + template.format(entity) + question[m.end():]
    return f"{question} {turns[-1]}"


_PERSON_RE = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2})\b")
_NOT_FIRST_NAMES = {"The", "But", "After", "Before", "In", "On", "At", "Still", "However", "Once", "Despite", "Some", "This", "Both", "Leading", "Speaking", "Shortly", "Top", "Tuesday", "Monday"}


def suggest_questions(sentences: list, n: int = 3) -> list[str]:
    """Example questions about the people the articles mention most.

    A person is a run of two or three capitalised words whose last word (the surname) is
    also used on its own, as news writing does after a first mention; the most mentioned
    come first. Works on any corpus; nothing here knows the seed article.
    """
    from collections import Counter

    full: dict[str, str] = {}
    surname_count: Counter[str] = Counter()
    for s in sentences:
        for m in _PERSON_RE.finditer(s.text):
            name = m.group(1)
            if name.split()[0] in _NOT_FIRST_NAMES:
                continue
            full.setdefault(name.split()[-1], name)
        for word in re.findall(r"\b[A-Z][a-z]+\b", s.text):
            surname_count[word] += 1
    people = sorted(full, key=lambda sur: -surname_count[sur])
    people = [p for p in people if surname_count[p] >= 2]
    out = []
    for i, surname in enumerate(people[:n]):
        out.append(f"What did {surname} say?" if i == 1 else f"Who is {full[surname]}?")
    return out
