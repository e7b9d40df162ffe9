"""Read a seeds folder into `Article`s.

Formats: `.txt` and `.md` (the text as written); `.html`/`.htm` (a saved web page: its main
text, title, date and site name, boilerplate dropped, by trafilatura; offsets then index that
extracted text, paragraphs separated by blank lines); `.json` (one record or a list of
records) and `.jsonl` (one record a line), a record being {"text": str, and optionally
"title", "date", "url", "source", "id": str}.

Ids: a file's article id is its path under the seeds folder, extension included
(`story.txt`, `world/talks.md`), so ids are unique and do not change when other files are
added; a record's is `<file>#<its "id">`, else `<file>#<line>` (JSON Lines) or `<file>#<n>`
(the n-th record of a JSON list). A
record's source is "source" or the host of "url". Which files are read: `scan_seeds`.

An article keeps its original text untouched so that every character offset we cite points
into what the user dropped in. Title, source and date are read from the text where it shows
them (a markdown heading or front matter, `Title:`/`Source:`/`Date:` header lines, a closing
byline such as "- The Guardian") and are empty otherwise; `body_start`/`body_end` bound the
part of the text that is prose, so header lines and the byline never become cited sentences.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".pdf", ".docx")
RECORD_FIELDS = ("text", "title", "date", "url", "source", "id")


def suffix_list() -> str:
    """The readable file types, for messages: ".txt .md .html .htm .json .jsonl"."""
    return " ".join(SUPPORTED_SUFFIXES)
MAX_FILE_BYTES = 20 * 1024 * 1024

_HEADER_RE = re.compile(r"^(title|source|date|url)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_BYLINE_RE = re.compile(r"^\s*[-\u2013\u2014]\s*(\S.{0,80}?)\s*$")
_MD_HEADING_RE = re.compile(r"^#\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Article:
    """One article: its stable id (qa.articles.file_id), metadata, and original text."""

    id: str
    title: str
    source: str
    date: str
    text: str
    hash: str
    path: str = ""
    body_start: int = 0
    body_end: int = -1
    published: str = ""  # ISO date (qa.dates.article_date): metadata, else text, else file
    date_source: str = ""
    pages: tuple[int, ...] = ()  # a PDF's page start offsets (qa.documents)

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
    folders: list[str] = field(default_factory=list)  # the seeds folders read, absolute (the index records them)


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Lone surrogates (possible in JSON "\\ud800" escapes) become U+FFFD: same length, so
    offsets hold, and the text can be written as UTF-8."""
    return _SURROGATE_RE.sub("\ufffd", text)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    """Returns (text, warning); text is None when the bytes are not text at all.

    UTF-8 (with or without a BOM); UTF-16 and UTF-32 when a byte-order mark says so (they are
    full of NUL bytes, so they must be recognised before the binary check); else Windows-1252."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(encoding), None
            except UnicodeDecodeError:
                return None, f"starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()}"
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
    text = clean_text(text)
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
        if m:  # the heading is the title, or repeats the front matter's: never a sentence
            meta["title"] = meta["title"] or m.group(1)
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


def make_article(article_id: str, body: str, title: str = "", source: str = "", date: str = "", path: str = "") -> Article:
    """An article whose metadata is known (HTML, JSON): the title, when given, leads the text
    as its own paragraph so that the page shows it, but is not part of the citable body."""
    body, title, source, date = (clean_text(x) for x in (body.strip(), title, source, date))
    text = f"{title}\n\n{body}" if title and not body.startswith(title) else body
    start = text.index("\n\n") + 2 if title and text.startswith(title) and "\n\n" in text else 0
    return Article(article_id, title, source, date, text, content_hash(text), path, start, -1)


def _from_html(article_id: str, html: str, path: str) -> Article | None:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False)
    if doc is None:
        return None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    lines = [line.strip() for line in (data.get("text") or "").splitlines() if line.strip()]
    if not lines:
        return None
    title = (data.get("title") or "").strip()
    if title and lines[0] == title:
        lines = lines[1:]
    return make_article(article_id, "\n\n".join(lines), title, (data.get("sitename") or data.get("hostname") or "").strip(),
                        (data.get("date") or "").strip(), path)


def file_id(rel: str) -> str:
    """An article id from a file's path under the seeds folder (with its extension): unique and
    stable whatever else is added. '#' separates a record's id, so a '#' in a path is escaped."""
    return rel.replace("%", "%25").replace("#", "%23")


def _json(text: str) -> object:
    """json.loads that turns over-deep nesting and over-long numbers into ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _from_records(rel: str, raw: str, suffix: str, report: ReadReport) -> list[Article | None]:
    """Articles from JSON/JSONL records; a bad record is named (file:line) and skipped.

    A record's id is `<file>#<its "id">`, else `<file>#<line>` in JSON Lines and `<file>#<n>`
    in a JSON list (n counts records from 1); a repeated "id" in one file gets `~2`, `~3`…
    in file order."""
    records: list[tuple[int, object]] = []
    if suffix == ".jsonl":
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, _json(line)))
            except ValueError as exc:
                report.skipped.append((f"{rel}:{number}", f"not valid JSON ({getattr(exc, 'msg', exc)})"))
    else:
        try:
            data = _json(raw)
        except ValueError as exc:
            report.skipped.append((f"{rel}:{getattr(exc, 'lineno', 1)}", f"not valid JSON ({getattr(exc, 'msg', exc)})"))
            return []
        records = [(1, r) for r in data] if isinstance(data, list) else [(1, data)]
    out: list[Article | None] = []
    used: set[str] = set()
    for n, (line_no, rec) in enumerate(records, start=1):
        where = f"{rel}:{line_no}" if suffix == ".jsonl" else f"{rel}#{n}"
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or not rec["text"].strip():
            report.skipped.append((where, 'a record needs a non-empty "text" string'))
            continue
        bad = [k for k in RECORD_FIELDS if k in rec and not isinstance(rec[k], str)]
        if bad:
            report.skipped.append((where, f"fields must be strings: {', '.join(bad)}"))
            continue
        source = rec.get("source") or (urlparse(rec["url"]).hostname or "" if rec.get("url") else "")
        rid = f"{file_id(rel)}#{rec.get('id') or (line_no if suffix == '.jsonl' else n)}"
        base, k = rid, 2
        while rid in used:
            rid, k = f"{base}~{k}", k + 1
        used.add(rid)
        out.append(make_article(rid, rec["text"], rec.get("title", ""), source, rec.get("date", ""), where))
    return out
