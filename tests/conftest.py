"""Shared fixtures: a fake embedder for unit tests, the real model once per session."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = ROOT / "seeds"


class FakeEmbedder:
    """Bag-of-words vectors from hashed, lower-cased words: deterministic and instant.

    Sentences that share words get a positive cosine, so ranking tests are meaningful.
    `calls` counts the texts encoded, to check what a build re-embeds.
    """

    name = "fake-bow"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def fingerprint(self) -> str:
        return "fake-bow-1"

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


TINY = {
    "harbour.txt": "Harbour reopens after storm\n\nThe old harbour in Dunmore reopened on Monday after the storm. Fishermen returned to the quay at dawn.\n\nThe mayor, Ann Keane, said repairs cost 2 million euros.\n\n- The Example Times\n",
    "orchard.md": "# Apple harvest breaks record\n\nGrowers in Kent picked more apples this year than ever before. The harvest began in August.\n\nA spokesman for the growers, Tom Reed, praised the dry summer.\n",
    "comet.txt": "Astronomers spotted a new comet near Jupiter. It will be visible in March.\n\nThe comet was named after the observatory that found it.\n",
}


@pytest.fixture
def tiny_seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name, text in TINY.items():
        (seeds / name).write_text(text, encoding="utf-8")
    return seeds


@pytest.fixture
def tiny_index(tmp_path: Path, tiny_seeds: Path, fake_embedder: FakeEmbedder) -> Path:
    from qa.build import build_index
    from qa.seeds import read_seeds

    index_dir = tmp_path / "index"
    build_index(read_seeds(tiny_seeds), index_dir, fake_embedder)
    return index_dir


@pytest.fixture(scope="session")
def real_embedder():
    from qa.embed import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, real_embedder) -> Path:
    """The seed article indexed with the real model, once per session."""
    from qa.build import build_index
    from qa.seeds import read_seeds

    index_dir = tmp_path_factory.mktemp("seed") / "index"
    build_index(read_seeds(SEEDS), index_dir, real_embedder)
    return index_dir


@pytest.fixture(scope="session")
def seed_assistant(seed_index, real_embedder):
    from qa.service import Assistant
    from qa.settings import Settings

    return Assistant(Settings(index_dir=seed_index), embedder=real_embedder)
