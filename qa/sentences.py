"""Split article text into sentences with character offsets and paragraph numbers.

Paragraphs first (blank lines; single newlines when a text has no blank lines), then NLTK's
Punkt model inside each paragraph (it ships inside llama-index-core, so nothing is
downloaded), then three repairs that news text needs:
- a photo credit such as "(Evelyn Hockstein/Pool Photo via AP)" joins the caption before it;
- a split right after a known abbreviation ("Feb.", "Gov.", "U.S.") is undone;
- a piece that starts in lower case continues the sentence before it.
Offsets always index the article's original text, so a citation can be highlighted in place.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qa.articles import Article

SPLITTER_VERSION = "punkt+news-3"  # 2: sentences capped at MAX_SENTENCE_CHARS; 3: Markdown headings skipped
MAX_SENTENCE_CHARS = 1000
_MD_HEADING = re.compile(r"^#{1,6}\s+\S[^\n]*$")

_ABBREVIATIONS = {
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "sgt", "capt",
    "st", "jr", "sr", "inc", "corp", "ltd", "co", "no", "vs", "u.s", "u.k", "u.n", "e.g", "i.e",
    "ft", "mt", "rev", "hon", "pres", "adm", "maj", "cmdr", "atty", "supt", "dept",
}
_CREDIT_RE = re.compile(r"^\([^()]{2,120}\)$")
_PARA_RE = re.compile(r"\n[ \t]*\r?\n\s*")


@dataclass(frozen=True)
class Sentence:
    """One sentence of one article; `start`/`end` index the article's original text."""

    article_id: str
    index: int  # 0-based position within the article
    paragraph: int  # 0-based paragraph number within the article
    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def _punkt():
    import nltk.data
    from nltk.tokenize.punkt import PunktTokenizer

    # llama-index-core bundles punkt_tab; point NLTK at that copy so it never downloads.
    # find_spec locates it without paying for llama-index's import.
    spec = importlib.util.find_spec("llama_index.core")
    bundled = str(Path(spec.origin).parent / "_static" / "nltk_cache")
    if bundled not in nltk.data.path:
        nltk.data.path.append(bundled)
    return PunktTokenizer("english")


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each paragraph inside text[start:end], stripped of surrounding space."""
    end = len(text) if end is None else end
    region = text[start:end]
    sep = _PARA_RE if _PARA_RE.search(region) else re.compile(r"\r?\n\s*")
    spans, pos = [], 0
    for m in list(sep.finditer(region)) + [None]:
        stop = m.start() if m else len(region)
        chunk = region[pos:stop]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((start + pos + lead, start + pos + len(chunk.rstrip())))
        if m:
            pos = m.end()
    return spans


def _last_word(text: str) -> str:
    m = re.search(r"([A-Za-z][A-Za-z.]*)\.$", text.rstrip())
    return m.group(1).lower() if m else ""


def _repair(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        piece = text[s:e]
        if out:
            prev = text[out[-1][0]:out[-1][1]]
            join = (
                _CREDIT_RE.match(piece.strip())
                or _last_word(prev) in _ABBREVIATIONS
                or re.match(r"^[a-z]", piece)
            )
            if join:
                out[-1] = (out[-1][0], e)
                continue
        out.append((s, e))
    return out


def _cap(text: str, spans: list[tuple[int, int]], cut: list[int] | None = None, limit: int | None = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Sentences over MAX_SENTENCE_CHARS cut into pieces at the last space before the limit
    (a hard cut where there is none): a 10 MB run without a full stop would otherwise be one
    "sentence" that every search and every reply drags along. `cut` counts the cuts."""
    if limit is None:
        return spans
    out = []
    for s, e in spans:
        while e - s > limit:
            space = text.rfind(" ", s + limit // 2, s + limit)
            stop = space if space > s else s + limit
            out.append((s, stop))
            if cut is not None:
                cut.append(s)
            s = stop + 1 if space > s else stop
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            out.append((s, e))
    return out


def split_paragraph(text: str, start: int, end: int, cut: list[int] | None = None, limit: int | None = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Sentence spans inside one paragraph, as absolute offsets."""
    spans = [(start + s, start + e) for s, e in _punkt().span_tokenize(text[start:end])]
    return _cap(text, _repair(text, spans), cut, limit)


def split_article(article: Article, cut: list[int] | None = None, limit: int | None = MAX_SENTENCE_CHARS) -> list[Sentence]:
    """Every sentence of the article's body, in reading order; `cut` collects the offsets
    where an over-long sentence was cut (`limit` None: never cut)."""
    body_start, body_end = article.body_span()
    sentences: list[Sentence] = []
    for p, (ps, pe) in enumerate(paragraph_spans(article.text, body_start, body_end)):
        if _MD_HEADING.match(article.text[ps:pe]):
            continue  # a Markdown heading ("## Reactions") labels a section; it is not a sentence to quote
        for s, e in split_paragraph(article.text, ps, pe, cut, limit):
            sentences.append(
                Sentence(article.id, len(sentences), p, s, e, article.text[s:e])
            )
    return sentences


def paragraph_around(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) of the paragraph holding text[start:end] (blank-line paragraphs, else lines)."""
    sep = "\n\n" if _PARA_RE.search(text) else "\n"
    p_start = text.rfind(sep, 0, start)
    p_start = 0 if p_start < 0 else p_start + len(sep)
    p_end = text.find(sep, end)
    p_end = len(text) if p_end < 0 else p_end
    return p_start, p_end
