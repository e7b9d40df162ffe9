"""PDF and Word (.docx) files as articles, with the pages of a PDF kept.

A PDF's text is read page by page (pypdf) and joined with blank lines; the offset where each
page starts is kept (`Article.pages`), so a citation says its page and the sources panel
shows that page. A PDF with no text layer (a scan) is skipped with a message saying so. A
.docx is read as plain text (docx2txt), paragraphs as lines. Both then go through the same
metadata reading as a text file (qa.articles.parse_article): a title line becomes the title.

Why not llama-index's `llama-index-readers-file` (which wraps these same two libraries):
it requires pandas < 3, which Gradio's pandas 3 rules out in one environment; its readers
add page labels, which we keep ourselves.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

from qa.articles import Article, clean_text, parse_article

DOCUMENT_SUFFIXES = (".pdf", ".docx")


class Unreadable(Exception):
    """A document that holds no text we can read; the message says why."""


def _pdf(raw: bytes) -> tuple[str, tuple[int, ...], str]:
    """(text, page start offsets, title from the PDF's metadata)."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise Unreadable("the PDF is encrypted; save an unprotected copy")
        pages, starts, pos = [], [], 0
        for page in reader.pages:
            text = re.sub(r"[ \t]+\n", "\n", clean_text(page.extract_text() or "")).strip()
            starts.append(pos)
            pages.append(text)
            pos += len(text) + 2
        meta = reader.metadata
        title = str(meta.get("/Title") or "").strip() if meta is not None else ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise Unreadable(f"not a readable PDF ({type(exc).__name__})") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise Unreadable("the PDF has no text layer (a scanned document?); run it through OCR first")
    return text, tuple(starts), title


def _docx(raw: bytes) -> str:
    import tempfile
    import zipfile

    import docx2txt

    try:
        with tempfile.NamedTemporaryFile(suffix=".docx") as f:
            f.write(raw)
            f.flush()
            text = docx2txt.process(f.name) or ""
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise Unreadable(f"not a readable Word document ({type(exc).__name__})") from None
    text = clean_text(re.sub(r"\n{3,}", "\n\n", text)).strip()
    if not text:
        raise Unreadable("the Word document holds no text")
    return text


def read_document(article_id: str, raw: bytes, suffix: str, path: str) -> Article:
    """An article from a .pdf or .docx file's bytes; Unreadable says why not."""
    if suffix == ".pdf":
        text, pages, title = _pdf(raw)
        article = parse_article(article_id, text, path=path)
        if title and not article.title:
            article = replace(article, title=title)
        return replace(article, pages=pages)
    return parse_article(article_id, _docx(raw), path=path)


def page_of(pages: tuple[int, ...] | list[int], offset: int) -> int | None:
    """The 1-based page holding character `offset`, or None for a document without pages."""
    if not pages:
        return None
    import bisect

    return bisect.bisect_right(list(pages), offset)


def page_span(text: str, pages: tuple[int, ...] | list[int], offset: int) -> tuple[int, int]:
    """(start, end) of the page holding `offset`."""
    n = page_of(pages, offset) or 1
    start = pages[n - 1]
    end = pages[n] - 2 if n < len(pages) else len(text)
    return start, end
