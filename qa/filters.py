"""Filters: which articles a question may be answered from (by source, date or id), as a
mask over an index's sentences for qa.retrieve.Retriever."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from qa.errors import QAError
from qa.index import Index


@dataclass(frozen=True)
class Filters:
    """Which articles a question may be answered from: by source, by date, by id.

    Empty fields do not filter. Sources match case-insensitively; dates are ISO days compared
    with each article's date (qa.dates: its metadata, else its text, else its file's time),
    inclusive; an article with no date at all is left out by a date filter."""

    sources: tuple[str, ...] = ()
    since: str = ""
    until: str = ""
    articles: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources or self.since or self.until or self.articles)

    @classmethod
    def of(cls, sources: Iterable[str] = (), since: str | None = "", until: str | None = "", articles: Iterable[str] = (),
           prefix: str = "") -> Filters:
        """Filters from user input (the page, the API); QAError names a day that is not a date."""
        from datetime import date

        days = {}
        for name, value in (("since", since), ("until", until)):
            try:
                days[name] = date.fromisoformat(value.strip()).isoformat() if value and value.strip() else ""
            except (AttributeError, ValueError):
                raise QAError(f"'{prefix}{name}' must be a date like 2025-02-18, not {value!r}") from None
        clean = lambda xs: tuple(x.strip() for x in xs if x and x.strip())  # noqa: E731
        return cls(clean(sources), days["since"], days["until"], clean(articles))

    def admits(self, article_id: str, meta: dict) -> bool:
        if self.articles and article_id not in self.articles:
            return False
        if self.sources and str(meta.get("source", "")).casefold() not in {s.casefold() for s in self.sources}:
            return False
        day = str(meta.get("published") or "")[:10]
        if (self.since or self.until) and not day:
            return False
        return not (self.since and day < self.since) and not (self.until and day > self.until)

    def mask(self, index: Index) -> np.ndarray | None:
        """A mask over the index's sentences (None: no filter); QAError when no article matches."""
        if not self:
            return None
        ok = {aid for aid, meta in index.articles.items() if self.admits(aid, meta)}
        if not ok:
            raise QAError("no article matches the filters; widen them (sources, dates or articles)")
        return np.array([s.article_id in ok for s in index.sentences], dtype=bool)
