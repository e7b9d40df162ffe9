"""Index versions on disk: written aside, switched atomically, locked, pruned.

Layout of an index folder (default `<home>/indexes/default`):

    CURRENT               name of the version in service (replaced atomically)
    .build.lock           held by a running `qa build`
    versions/<name>/      one complete, immutable index version (qa/build.py writes it)

A version is written into `versions/.tmp-<name>`, every file fsynced, renamed into place,
and only then does `CURRENT` switch (`os.replace` of a fsynced temp file, then the folder
fsynced): a reader sees the old version or the new one, never a half-written one, and a
killed build leaves the old one in service. Temp folders and `.CURRENT.*` files a killed
build left behind are removed by the next build.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from qa.errors import IndexProblem

KEEP_VERSIONS = 2  # the one in service and the one before, for readers still on it


def current_version_path(index_dir: Path) -> Path | None:
    """The version in service, or None when there is none (or CURRENT names a missing one)."""
    pointer = Path(index_dir) / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    path = Path(index_dir) / "versions" / name
    return path if name and "/" not in name and path.is_dir() else None


def new_version_name() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}-{time.time_ns() % 10**6:06d}"


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive lock for one build at a time; a second build fails at once with a message."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".build.lock", "a+")
    except OSError as exc:
        raise IndexProblem(f"cannot write the index folder {index_dir} ({exc.strerror or exc}); pass --index with a writable folder") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexProblem(f"another `qa build` is writing {index_dir}; wait for it to finish, then try again") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """fsync every file under `path`, then each folder (files written by libraries too)."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(Path(root))


def write_json(path: Path, obj: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def publish(index_dir: Path, version: str, write: Callable[[Path], None]) -> None:
    """Writes a version with `write(folder)`, then puts it in service atomically.

    `write` must finish with the manifest: its presence marks a complete version.
    Any failure removes the temporary folder and leaves the version in service as it was.
    """
    versions = index_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    tmp = versions / f".tmp-{version}"
    tmp.mkdir()
    try:
        write(tmp)
        fsync_tree(tmp)
        os.rename(tmp, versions / version)
        fsync_dir(versions)
        pointer_tmp = index_dir / f".CURRENT.{version}"
        with open(pointer_tmp, "w", encoding="utf-8") as f:
            f.write(version + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(pointer_tmp, index_dir / "CURRENT")
        fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            (index_dir / f".CURRENT.{version}").unlink()
        raise
    prune(index_dir, keep=version)


def prune(index_dir: Path, keep: str) -> None:
    """Removes old versions (keeping KEEP_VERSIONS) and what killed builds left behind."""
    versions = index_dir / "versions"
    names = sorted(p.name for p in versions.iterdir() if p.is_dir())
    stale_tmp = [n for n in names if n.startswith(".tmp-")]
    complete = [n for n in names if not n.startswith(".")]
    old = [n for n in complete if n != keep][: max(0, len(complete) - KEEP_VERSIONS)]
    for name in old + stale_tmp:
        shutil.rmtree(versions / name, ignore_errors=True)
    for pointer in index_dir.glob(".CURRENT.*"):
        with contextlib.suppress(OSError):
            pointer.unlink()
