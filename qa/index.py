"""The index version in service, loaded for answering questions.

`load_index` reads the version `CURRENT` names (qa.store) straight from its files: the
manifest, articles and sentences (JSON Lines), the vectors (read into memory, never
mapped: a mapped file truncated under a running server ends the process with SIGBUS), the
FAISS file and the BM25 folder (qa.backends). Nothing heavier than numpy, faiss and bm25s
is imported. Every failure is an IndexProblem naming the file and what to run. Building
is qa/build.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from qa.backends import DenseIndex, LexicalIndex, tokenize
from qa.build import FORMAT_VERSION, read_sentences
from qa.errors import IndexProblem
from qa.sentences import Sentence
from qa.store import current_version_path
from qa.text import pronoun_gender

__all__ = ["Index", "load_index", "current_version_path"]


@dataclass(frozen=True)
class Index:
    """A loaded index version: sentence records, vectors, and the two searchers."""

    path: Path
    manifest: dict
    articles: dict[str, dict]
    sentences: list[Sentence]
    vectors: np.ndarray
    dense: DenseIndex
    lexical: LexicalIndex

    @property
    def version(self) -> str:
        return self.path.name

    def __len__(self) -> int:
        return len(self.sentences)

    def dense_search(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k sentence positions and cosine scores for one normalised query vector."""
        return self.dense.search(query_vector, k)

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every sentence for the query (zeros where no term matches)."""
        return self.lexical.scores(query)

    def gender(self, name: str) -> str | None:
        """How the articles refer back to a person: "m", "f" or None (qa.text.pronoun_gender)."""
        if name not in self._genders:
            self._genders[name] = pronoun_gender(name, self._texts)
        return self._genders[name]

    @cached_property
    def _texts(self) -> list[str]:
        return [s.text for s in self.sentences]

    @cached_property
    def _genders(self) -> dict[str, str | None]:
        return {}

    @staticmethod
    def terms(texts: list[str]) -> list[set[str]]:
        """BM25's view of each text (stemmed words without stop words), as sets."""
        return [set(t) for t in tokenize(texts)]


def load_index(index_dir: Path, expected_model_sha256: str | None = None) -> Index:
    """Loads the version in service; every failure is an IndexProblem that says what to run."""
    path = current_version_path(index_dir)
    if path is None:
        raise IndexProblem(f"no index at {index_dir}; run `qa build` first")
    rebuild = "run `qa build --full` to rebuild it"

    def damaged(name: str, why: str) -> IndexProblem:
        return IndexProblem(f"index file {path / name} is damaged ({why}); {rebuild}")

    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        assert isinstance(manifest, dict) and isinstance(manifest.get("n_sentences"), int)
    except (OSError, ValueError, AssertionError, RecursionError) as exc:
        raise damaged("manifest.json", type(exc).__name__) from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexProblem(f"index at {path} has format {manifest.get('format')}, this qa reads {FORMAT_VERSION}; run `qa build` to update it (vectors are reused)")
    if expected_model_sha256 and manifest.get("model_sha256") != expected_model_sha256:
        raise IndexProblem(
            f"index at {path} was built with model {manifest.get('model')} "
            f"(weights {str(manifest.get('model_sha256'))[:12]}…), not the encoder qa embeds with now (installed weights, QA_TUNED_ENCODER); {rebuild}"
        )
    sentences = _read(path, "sentences.jsonl", damaged, read_sentences)
    articles = _read(path, "articles.jsonl", damaged, _read_articles)
    vectors = _read(path, "vectors.npy", damaged, lambda p: np.load(p, allow_pickle=False))
    dense = _read(path, "dense.faiss", damaged, DenseIndex.read)
    lexical = _read(path, "bm25", damaged, LexicalIndex.read)
    n = manifest["n_sentences"]
    if not (len(sentences) == n == len(vectors) == len(dense) == len(lexical)) or vectors.ndim != 2:
        raise damaged("manifest.json", "counts of sentences, vectors, FAISS and BM25 rows disagree")
    return Index(path, manifest, articles, sentences, np.ascontiguousarray(vectors, dtype=np.float32), dense, lexical)


def _read_articles(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8") as f:
        return {r["id"]: r for r in map(json.loads, filter(str.strip, f))}


def _read(folder: Path, name: str, damaged: Callable[[str, str], IndexProblem], reader: Callable[[Path], object]):
    try:
        return reader(folder / name)
    except (OSError, ValueError, KeyError, TypeError, EOFError, RuntimeError, RecursionError, AttributeError) as exc:
        raise damaged(name if (folder / name).is_file() else f"{name}/", type(exc).__name__) from None
