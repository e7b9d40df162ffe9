"""Which files of a seeds folder become articles, and reading one or several folders.

The policy (`scan_seeds`): subfolders are walked; symbolic links are followed only when they
point inside the seeds folder; broken links, link loops, hidden files and folders, and
anything that is not a regular file are skipped and named. `read_seeds` turns each readable
file into articles (qa.articles parses the formats) and names every file it skips and why;
`read_folders` reads several folders as one collection.
"""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

from qa.articles import (
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    Article,
    ReadReport,
    _decode,
    _from_html,
    _from_records,
    file_id,
    parse_article,
)
from qa.dates import article_date
from qa.documents import DOCUMENT_SUFFIXES, Unreadable, read_document


def scan_seeds(seeds_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to read under `seeds_dir`, sorted, and every entry passed over with why.

    Policy: subfolders are walked; symbolic links are followed only when they point inside
    the seeds folder (a link to /etc/passwd is not an article); broken links, link loops,
    hidden files and folders (`.DS_Store`, `.git`), and anything that is not a regular file
    (a FIFO, a socket, a device) are skipped and named."""
    root = seeds_dir.resolve()
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    seen_dirs: set[Path] = set()

    def walk(folder: Path) -> None:
        real = folder.resolve()
        if real in seen_dirs:
            skipped.append((str(folder.relative_to(seeds_dir)), "a folder link loop"))
            return
        seen_dirs.add(real)
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            skipped.append((str(folder.relative_to(seeds_dir)) if folder != seeds_dir else ".", f"cannot list it ({exc.strerror or exc})"))
            return
        for path in entries:
            rel = str(path.relative_to(seeds_dir))
            if path.name.startswith("."):
                skipped.append((rel, "hidden file or folder"))
                continue
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    skipped.append((rel, "broken link (or a link loop)"))
                    continue
                if not target.is_relative_to(root):
                    skipped.append((rel, "links outside the seeds folder; copy the file in instead"))
                    continue
            try:
                mode = path.stat().st_mode
            except OSError as exc:
                skipped.append((rel, f"cannot read it ({exc.strerror or exc})"))
                continue
            if stat.S_ISDIR(mode):
                walk(path)
            elif stat.S_ISREG(mode):
                files.append(path)
            else:
                skipped.append((rel, "not a regular file (a FIFO, socket or device)"))

    walk(seeds_dir)
    return files, skipped


def iter_seed_files(seeds_dir: Path) -> list[Path]:
    return scan_seeds(seeds_dir)[0]


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def read_folders(folders: list[Path]) -> ReadReport:
    """Several article folders as one collection. The first folder's ids are as `read_seeds`
    gives them; a later folder's are prefixed with its name (`articles/2019-….txt`), so ids stay
    unique and stable; the same text in two folders is indexed once."""
    merged = ReadReport(folders=[str(f.resolve()) for f in folders])
    seen: dict[str, str] = {}
    for n, folder in enumerate(folders):
        report = read_seeds(folder)
        prefix = "" if n == 0 else f"{folder.name}/"
        merged.skipped += [(prefix + p, why) for p, why in report.skipped]
        merged.warnings += [(prefix + p, why) for p, why in report.warnings]
        merged.duplicates += [(prefix + p, prefix + same) for p, same in report.duplicates]
        for a in report.articles:
            a = replace(a, id=prefix + a.id, path=prefix + a.path)
            if a.hash in seen:
                merged.duplicates.append((a.path, seen[a.hash]))
                continue
            seen[a.hash] = a.id
            merged.articles.append(a)
    return merged


def read_seeds(seeds_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> ReadReport:
    """Reads every supported file under `seeds_dir`.

    Args:
        seeds_dir: the folder of article files (subfolders are walked; scan_seeds says which).
        max_bytes: files larger than this are skipped with a reason.
    Returns:
        A `ReadReport`; unreadable files are listed in it, never raised.
    """
    report = ReadReport(folders=[str(seeds_dir.resolve())])
    files, report.skipped = scan_seeds(seeds_dir)
    seen_hash: dict[str, str] = {}
    for path in files:
        rel = str(path.relative_to(seeds_dir))
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            report.skipped.append((rel, f"unsupported file type {path.suffix or '(none)'!r}"))
            continue
        try:
            if path.stat().st_size > max_bytes:
                report.skipped.append((rel, f"larger than {max_bytes // (1024 * 1024)} MB"))
                continue
            raw = path.read_bytes()
        except OSError as exc:  # deleted or made unreadable while the folder was read
            report.skipped.append((rel, f"could not be read ({exc.strerror or exc}); it may have been moved or deleted"))
            continue
        if suffix in DOCUMENT_SUFFIXES:
            try:
                document = read_document(file_id(rel), raw, suffix, rel)
            except Unreadable as exc:
                report.skipped.append((rel, str(exc)))
                continue
            report.articles.extend(_dated([document], path, seen_hash, report))
            continue
        text, warning = _decode(raw)
        if text is None:
            report.skipped.append((rel, warning or "unreadable"))
            continue
        if warning:
            report.warnings.append((rel, warning))
        if not text.strip():
            report.skipped.append((rel, "empty file"))
            continue
        found: list[Article | None]
        if suffix in (".html", ".htm"):
            found = [_from_html(file_id(rel), text, rel)]
        elif suffix in (".json", ".jsonl"):
            found = _from_records(rel, text, suffix, report)
        else:
            found = [parse_article(file_id(rel), text, path=rel)]
        for article in found:
            if article is None:
                report.skipped.append((rel, "no article text found"))
        report.articles.extend(_dated([a for a in found if a is not None], path, seen_hash, report))
    return report


def _dated(found: list[Article], path: Path, seen_hash: dict[str, str], report: ReadReport) -> list[Article]:
    """The file's articles with their dates, the same text twice kept once."""
    mtime = _mtime(path)
    out = []
    for article in found:
        published, source = article_date(article.date, article.text, path.name, mtime)
        article = replace(article, published=published, date_source=source)
        if article.hash in seen_hash:
            report.duplicates.append((article.path, seen_hash[article.hash]))
            continue
        seen_hash[article.hash] = article.id
        out.append(article)
    return out
