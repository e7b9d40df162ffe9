"""The first stage: each mode, fusion, context signals, and mode names."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import QAError
from qa.index import load_index
from qa.retrieve import FusionWeights, Retriever


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
