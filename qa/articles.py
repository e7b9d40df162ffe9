"""Read a seeds folder into `Article`s.

An article keeps its original text untouched so that every character offset we cite points
into what the user dropped in. Title, source and date are read from the text where it shows
them (a markdown heading or front matter, `Title:`/`Source:`/`Date:` header lines, a closing
byline such as "- The Guardian") and are empty otherwise; `body_start`/`body_end` bound the
part of the text that is prose, so header lines and the byline never become cited sentences.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 20 * 1024 * 1024

_HEADER_RE = re.compile(r"^(title|source|date|url)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_BYLINE_RE = re.compile(r"^\s*[-\u2013\u2014]\s*(\S.{0,80}?)\s*$")
_MD_HEADING_RE = re.compile(r"^#\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Article:
    """One article file: its stable id (the file stem), metadata, and original text."""

    id: str
    title: str
    source: str
    date: str
    text: str
    hash: str
    path: str = ""
    body_start: int = 0
    body_end: int = -1

    def body_span(self) -> tuple[int, int]:
        end = len(self.text) if self.body_end < 0 else self.body_end
        return self.body_start, end


@dataclass
class ReadReport:
    """What `read_seeds` found: the articles, and every file it skipped or warned about."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, same-as id)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    """Returns (text, warning); text is None when the bytes are not text at all."""
    if b"\x00" in raw[:8192]:
        return None, "binary file (NUL bytes)"
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        # Latin-1/cp1252 is what non-UTF-8 news text almost always is; keep it, but say so.
        try:
            return raw.decode("cp1252"), "not UTF-8; decoded as Windows-1252"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "not UTF-8; decoded as Latin-1"


def _paragraph_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line."""
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append((pos + lead, pos + lead + len(stripped)))
        pos += len(line)
    return spans


def parse_article(article_id: str, text: str, path: str = "") -> Article:
    """Infers title, source, date and the prose span of one article's text."""
    meta = {"title": "", "source": "", "date": "", "url": ""}
    lines = _paragraph_lines(text)
    body_start, body_end = 0, len(text)
    i = 0
    # Front matter (--- ... ---) or leading "Key: value" header lines.
    if lines and text[lines[0][0]:lines[0][1]] == "---":
        for j in range(1, min(len(lines), 30)):
            s, e = lines[j]
            line = text[s:e]
            if line == "---":
                i = j + 1
                break
            m = _HEADER_RE.match(line)
            if m:
                meta[m.group(1).lower()] = m.group(2).strip("\"'")
    while i < len(lines) and i < 6:
        m = _HEADER_RE.match(text[lines[i][0]:lines[i][1]])
        if not m:
            break
        meta[m.group(1).lower()] = m.group(2)
        i += 1
    if i < len(lines):
        s, e = lines[i]
        m = _MD_HEADING_RE.match(text[s:e])
        if m and not meta["title"]:
            meta["title"] = m.group(1)
            i += 1
    if i < len(lines):
        body_start = lines[i][0]
    else:
        body_start = len(text)
    if lines and len(lines) > i + 1:
        s, e = lines[-1]
        m = _BYLINE_RE.match(text[s:e])
        if m and not m.group(1).endswith((".", "?", "!")):
            meta["source"] = meta["source"] or m.group(1)
            body_end = s
    if not meta["title"]:
        meta["title"] = _title_line(text, lines, i, body_end)
        if meta["title"]:
            # The title line is metadata, not a sentence to cite.
            nxt = next((s for s, _ in lines if s > body_start), body_end)
            body_start = min(nxt, body_end)
    return Article(
        id=article_id,
        title=meta["title"],
        source=meta["source"],
        date=meta["date"],
        text=text,
        hash=content_hash(text),
        path=path,
        body_start=body_start,
        body_end=body_end,
    )


def _title_line(text: str, lines: list[tuple[int, int]], i: int, body_end: int) -> str:
    """A short first line with no closing punctuation, followed by prose, reads as a headline."""
    if i >= len(lines) - 1:
        return ""
    s, e = lines[i]
    line = text[s:e]
    nxt_s, _ = lines[i + 1]
    blank_after = "\n\n" in text[e:nxt_s].replace("\r", "")
    one_phrase = not re.search(r"[.?!][\"”’]?\s", line) and len(line.split()) <= 20
    if one_phrase and len(line) <= 150 and not line.endswith((".", "?", "!", ":", ";", ",", "\u201d", '"')) and blank_after and nxt_s < body_end:
        return line
    return ""


def iter_seed_files(seeds_dir: Path) -> list[Path]:
    return sorted(p for p in seeds_dir.rglob("*") if p.is_file() and not p.name.startswith("."))


def read_seeds(seeds_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> ReadReport:
    """Reads every supported file under `seeds_dir`.

    Args:
        seeds_dir: the folder of article files (subfolders are walked).
        max_bytes: files larger than this are skipped with a reason.
    Returns:
        A `ReadReport`; unreadable files are listed in it, never raised.
    """
    report = ReadReport()
    seen_hash: dict[str, str] = {}
    seen_id: set[str] = set()
    for path in iter_seed_files(seeds_dir):
        rel = str(path.relative_to(seeds_dir))
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            report.skipped.append((rel, f"unsupported file type {path.suffix or '(none)'!r}"))
            continue
        size = path.stat().st_size
        if size > max_bytes:
            report.skipped.append((rel, f"larger than {max_bytes // (1024 * 1024)} MB"))
            continue
        text, warning = _decode(path.read_bytes())
        if text is None:
            report.skipped.append((rel, warning or "unreadable"))
            continue
        if warning:
            report.warnings.append((rel, warning))
        if not text.strip():
            report.skipped.append((rel, "empty file"))
            continue
        article_id = path.stem if path.parent == seeds_dir else str(path.relative_to(seeds_dir).with_suffix(""))
        if article_id in seen_id:
            article_id = str(path.relative_to(seeds_dir))
        article = parse_article(article_id, text, path=rel)
        if article.hash in seen_hash:
            report.duplicates.append((rel, seen_hash[article.hash]))
            continue
        seen_hash[article.hash] = article.id
        seen_id.add(article.id)
        report.articles.append(article)
    return report
