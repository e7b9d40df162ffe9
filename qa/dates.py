"""Article dates: read from what the article says, in one ISO form, so news can be ranked by time.

An article's date is, first found: its metadata (`Date:` line, front matter, a record's
"date", a page's date), else the first full date in its text ("Tuesday, Feb. 18, 2025" in a
photo caption), else a date at the start of its file name (`2019-10-14_kenya-s-….txt`), else
the file's modification day. `date_source` says which, so a reader can tell a dated story
from a guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_ISO = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_MDY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})\b", re.IGNORECASE)
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+((?:19|20)\d{{2}})\b", re.IGNORECASE)


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_date(text: str) -> date | None:
    """The first full date written in `text` (ISO, "Feb. 18, 2025", "18 February 2025")."""
    found: list[tuple[int, date]] = []
    for m in _ISO.finditer(text):
        if d := _make(int(m.group(1)), int(m.group(2)), int(m.group(3))):
            found.append((m.start(), d))
    for m in _MDY.finditer(text):
        if d := _make(int(m.group(3)), _MONTHS[m.group(1)[:3].lower()], int(m.group(2))):
            found.append((m.start(), d))
    for m in _DMY.finditer(text):
        if d := _make(int(m.group(3)), _MONTHS[m.group(2)[:3].lower()], int(m.group(1))):
            found.append((m.start(), d))
    return min(found)[1] if found else None


def article_date(metadata: str, text: str, file_name: str = "", mtime: float | None = None) -> tuple[str, str]:
    """(ISO date or "", where it came from: "metadata" | "text" | "file name" | "file time" | "")."""
    for value, source in ((metadata, "metadata"), (text[:20_000], "text"), (file_name, "file name")):
        if value and (d := find_date(value)):
            return d.isoformat(), source
    if mtime is not None:
        return datetime.fromtimestamp(mtime, tz=UTC).date().isoformat(), "file time"
    return "", ""


def display(iso: str) -> str:
    """"2025-05-12" -> "12 May 2025" (the reply's words); other strings as they are."""
    try:
        d = date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return f"{d.day} {d.strftime('%B')} {d.year}"
