"""The articles in service, managed from the chat page: list them, add files, remove one.

Every change goes through the same path as `qa build`: the seeds folders the index was built
from (recorded in its manifest, else `Settings.seeds_dir`) are read again and the index is
rebuilt incrementally under the build lock, a new version switched in atomically; a running
server picks it up between questions.

Nothing is lost:
- an added file is copied in under its own name (a different file of the same name gets
  " (2)"), atomically; one that the reader skips (a scanned PDF, an empty file) is taken out
  again and the reason is said;
- a removed article's file is moved to `<seeds>/.removed/` (hidden folders are not read),
  not deleted; a file holding several records removes them all, and the message says so;
- when the rebuild fails, the files are put back as they were.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.articles import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, suffix_list
from qa.build import BuildSummary, build_index
from qa.embed import sha256_file
from qa.errors import QAError
from qa.seeds import read_folders
from qa.service import Assistant

REMOVED = ".removed"
_RECORD_SUFFIX = re.compile(r"(?::\d+|#\d+)$")


@dataclass(frozen=True)
class Row:
    """One indexed article, as the page lists it."""

    id: str
    title: str
    source: str
    date: str
    sentences: int


def articles(assistant: Assistant) -> list[Row]:
    """The articles in service, newest first."""
    index = assistant.index
    counts = Counter(s.article_id for s in index.sentences)
    rows = [
        Row(aid, m.get("title") or m.get("display_title") or aid, m.get("source", ""), m.get("published") or m.get("date", ""), counts[aid])
        for aid, m in index.articles.items()
    ]
    return sorted(rows, key=lambda r: (r.date, r.id), reverse=True)


def seed_folders(assistant: Assistant) -> list[Path]:
    """The folders the index in service was built from; new files go into the first."""
    try:
        recorded = assistant.index.manifest.get("seeds") or []
    except QAError:
        recorded = []
    folders = [Path(f) for f in recorded if Path(f).is_dir()]
    return folders or [Path(assistant.settings.seeds_dir)]


def rebuild(assistant: Assistant, progress: Callable[[str, int, int], None] | None = None) -> BuildSummary:
    """Reads the seeds folders again and builds a new index version from them."""
    report = read_folders(seed_folders(assistant))
    return build_index(report, assistant.settings.index_dir, assistant.embedder, progress=progress)


def add_files(assistant: Assistant, files: list[tuple[Path, str]], progress: Callable[[str, int, int], None] | None = None) -> str:
    """Copies (path, original name) files into the seeds folder and rebuilds; a message says
    what was added, what was not and why."""
    target = seed_folders(assistant)[0]
    target.mkdir(parents=True, exist_ok=True)
    added: list[Path] = []
    notes: list[str] = []
    for path, name in files:
        name = Path(name).name.strip() or path.name
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            notes.append(f"{name}: not an article file ({suffix_list()})")
            continue
        if name.startswith("."):
            notes.append(f"{name}: hidden files are not read; rename it")
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                notes.append(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
                continue
            digest = sha256_file(path)
            dest = _free_name(target, name, digest)
            if dest.exists():
                notes.append(f"{name}: already there")
                continue
            tmp = dest.with_name(f".{dest.name}.part")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
            added.append(dest)
        except OSError as exc:
            notes.append(f"{name}: could not be copied ({exc.strerror or exc})")
    if not added:
        raise QAError("nothing added: " + "; ".join(notes) if notes else "nothing added: choose one or more article files")
    try:
        summary = rebuild(assistant, progress)
    except QAError:
        for dest in added:
            dest.unlink(missing_ok=True)
        raise
    skipped = {p: why for p, why in summary.skipped} | {p: f"same text as {same}" for p, same in summary.duplicates}
    kept = []
    for dest in added:
        why = skipped.get(str(dest.relative_to(target)))
        if why:
            dest.unlink(missing_ok=True)  # not readable as an article: not left in the folder
            notes.append(f"{dest.name}: {why}")
        else:
            kept.append(dest.name)
    done = f"added {', '.join(kept)}" if kept else "added nothing"
    return f"{done}; {_built(summary)}" + (f" (not added: {'; '.join(notes)})" if notes else "")


def remove_article(assistant: Assistant, article_id: str, progress: Callable[[str, int, int], None] | None = None) -> str:
    """Moves the file holding `article_id` to the seeds folder's .removed/ and rebuilds."""
    index = assistant.index
    meta = index.articles.get(article_id)
    if meta is None:
        raise QAError(f"no article {article_id!r} in the index; choose one from the list")
    path = _file_of(seed_folders(assistant), str(meta.get("path") or article_id))
    if path is None:
        raise QAError(f"the file of {article_id!r} is no longer in the seeds folder; run `qa build` to refresh the index")
    same_file = [aid for aid, m in index.articles.items() if _file_of(seed_folders(assistant), str(m.get("path") or aid)) == path]
    if len(same_file) == len(index.articles):
        raise QAError("that would leave no articles to answer from; add another article first")
    bin_dir = _folder_of(seed_folders(assistant), path) / REMOVED
    bin_dir.mkdir(exist_ok=True)
    moved = bin_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{path.name}"
    os.replace(path, moved)
    try:
        summary = rebuild(assistant, progress)
    except QAError:
        os.replace(moved, path)
        raise
    what = f"removed {path.name}" + (f" ({len(same_file)} articles)" if len(same_file) > 1 else "")
    return f"{what}, kept in {moved.parent}; {_built(summary)}"


def _built(summary: BuildSummary) -> str:
    return f"the index holds {summary.articles} article{'s' if summary.articles != 1 else ''}, {summary.sentences:,} sentences ({summary.seconds:.1f} s)"


def _free_name(folder: Path, name: str, digest: str) -> Path:
    """`name` in `folder`; the existing file when it has the same bytes, else the first free
    "stem (n).suffix"."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 1000):
        candidate = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        if not candidate.exists():
            return candidate
        with contextlib.suppress(OSError):
            if candidate.is_file() and sha256_file(candidate) == digest:
                return candidate
    raise QAError(f"too many files named {name} in {folder}; rename it")


def _file_of(folders: list[Path], path: str) -> Path | None:
    """The file an article came from: its recorded path (a record's "file:line" or "file#n"
    without the suffix), in the first folder, or in a later one under that folder's name."""
    for candidate in dict.fromkeys((path, _RECORD_SUFFIX.sub("", path))):
        for n, folder in enumerate(folders):
            rel = candidate
            if n > 0:
                if not candidate.startswith(folder.name + "/"):
                    continue
                rel = candidate[len(folder.name) + 1 :]
            full = folder / rel
            if full.is_file() and full.resolve().is_relative_to(folder.resolve()):
                return full
    return None


def _folder_of(folders: list[Path], path: Path) -> Path:
    return next((f for f in folders if path.resolve().is_relative_to(f.resolve())), folders[0])
