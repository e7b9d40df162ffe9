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
