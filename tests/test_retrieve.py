"""The first stage: each mode, fusion, context signals, and mode names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.filters import Filters
from qa.index import load_index
from qa.retrieve import FusionWeights, Retriever
from qa.settings import Mode


@pytest.fixture
def retriever(tiny_index: Path, fake_embedder) -> Retriever:
    return Retriever(load_index(tiny_index), fake_embedder)


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_each_mode_finds_the_sentence_sharing_the_words(tiny_index: Path, fake_embedder, mode: str):
    r = Retriever(load_index(tiny_index), fake_embedder, mode=mode)
    hits = r.search("What did the mayor say the repairs cost?", k=3)
    assert "repairs cost" in hits[0].sentence.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_rrf_fusion_also_ranks(tiny_index: Path, fake_embedder):
    r = Retriever(load_index(tiny_index), fake_embedder, weights=FusionWeights(method="rrf"))
    top = r.search("When will the comet be visible?", k=1)[0].sentence
    assert top.text == "It will be visible in March."


def test_context_signal_uses_neighbours_in_the_paragraph(retriever: Retriever):
    # "It will be visible in March." names no comet; its neighbour does.
    hits = retriever.search("comet visible", k=5)
    it = next(h for h in hits if h.sentence.text.startswith("It will be visible"))
    assert it.signals["bm25_context"] > it.signals["bm25"]


def test_unknown_mode_names_the_choices(tiny_index: Path, fake_embedder):
    with pytest.raises(QAError, match="choose one of: hybrid, bm25, dense"):
        Retriever(load_index(tiny_index), fake_embedder, mode="dense2")


@pytest.fixture
def dated_retriever(tmp_path: Path, fake_embedder) -> Retriever:
    from qa.build import build_index
    from qa.seeds import read_seeds

    seeds = tmp_path / "dated"
    seeds.mkdir()
    for name, source, day in (("old.txt", "Daily Post", "2023-05-02"), ("new.txt", "Evening Star", "2025-02-18"), ("undated.txt", "", "")):
        header = (f"Source: {source}\n" if source else "") + (f"Date: {day}\n" if day else "")
        (seeds / name).write_text(f"{header}\nThe council voted on the bridge budget in {name[:-4]} times.\n", encoding="utf-8")
    os.utime(seeds / "undated.txt", (1577880000, 1577880000))  # 2020-01-01: its file's date stands in
    build_index(read_seeds(seeds), tmp_path / "dated-index", fake_embedder)
    return Retriever(load_index(tmp_path / "dated-index"), fake_embedder)


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
@pytest.mark.parametrize(("filters", "expected"), [
    (Filters(sources=("daily post",)), {"old.txt"}),
    (Filters(since="2024-01-01"), {"new.txt"}),
    (Filters(until="2024-01-01"), {"old.txt", "undated.txt"}),
    (Filters(since="2023-01-01", until="2025-12-31"), {"old.txt", "new.txt"}),
    (Filters(articles=("undated.txt", "new.txt")), {"undated.txt", "new.txt"}),
    (Filters(), {"old.txt", "new.txt", "undated.txt"}),
])
def test_filters_keep_only_the_articles_they_admit(dated_retriever: Retriever, mode: str, filters: Filters, expected: set):
    dated_retriever.mode = Mode(mode)
    hits = dated_retriever.search("council bridge budget", k=10, allowed=filters.mask(dated_retriever.index))
    assert {h.sentence.article_id for h in hits} == expected


def test_a_filter_nothing_matches_says_so(dated_retriever: Retriever):
    with pytest.raises(QAError, match="no article matches the filters"):
        Filters(sources=("Nowhere Gazette",)).mask(dated_retriever.index)
