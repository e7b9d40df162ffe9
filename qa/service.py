"""The assistant as the CLI and the web app use it: load once, answer many, follow rebuilds.

`Assistant.ask` checks before each question whether `qa build` has put a new index
version in service (one small file read) and, if so, loads it; a question already being
answered keeps the version it started with, because it holds its own reference to it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from qa.answer import Answer, answer
from qa.embed import Embedder, MiniLMEmbedder
from qa.filters import Filters
from qa.index import Index, current_version_path, load_index
from qa.rerank import Reranker
from qa.retrieve import FusionWeights, Retriever
from qa.settings import Settings


@dataclass(frozen=True)
class Status:
    articles: int
    sentences: int
    built_at: str
    model: str
    version: str

    def line(self) -> str:
        articles = f"{self.articles} article{'' if self.articles == 1 else 's'}"
        sentences = f"{self.sentences:,} sentence{'' if self.sentences == 1 else 's'}"
        return f"{articles} · {sentences} · built {self.built_at} · {self.model}"


class Assistant:
    """Holds the embedder and the index version in service; answers questions."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, weights: FusionWeights = FusionWeights()) -> None:
        self.settings = settings
        self.embedder = embedder or MiniLMEmbedder.configured(settings)
        self.weights = weights
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._reranker: Reranker | None = None

    def _load(self) -> Retriever:
        if self._reranker is None and self.settings.rerank_depth > 0:
            self._reranker = Reranker.configured(self.settings)
        index = load_index(self.settings.index_dir, expected_model_sha256=self.embedder.fingerprint())
        return Retriever.configured(index, self.embedder, self.settings, self._reranker, self.weights)

    def retriever(self) -> Retriever:
        """The retriever over the newest index version (reloaded when a build replaced it)."""
        with self._lock:
            current = self._retriever
            latest = current_version_path(self.settings.index_dir)
            if current is None or latest is None or latest != current.index.path:
                self._retriever = current = self._load()
            return current

    @property
    def index(self) -> Index:
        return self.retriever().index

    def warm_up(self) -> None:
        """Loads the index and the model now rather than on the first question."""
        retriever = self.retriever()
        retriever.embed_query("warm up")
        if retriever.reranker is not None:
            retriever.reranker.scores("warm up", ["warm up"])

    def ask(self, question: str, history: list | tuple = (), filters: Filters | None = None) -> Answer:
        return self.ask_with_index(question, history, filters)[0]

    def ask_with_index(self, question: str, history: list | tuple = (), filters: Filters | None = None) -> tuple[Answer, Index]:
        """The answer and the index version it came from (its articles render the sources: a
        rebuild finishing meanwhile must not mix the new version's text into the old answer)."""
        retriever = self.retriever()
        return answer(question, retriever, self.settings, history=history, filters=filters), retriever.index

    def sources(self) -> list[str]:
        """The sources of the articles in service, for a filter to choose from."""
        return sorted({str(m.get("source")) for m in self.index.articles.values() if m.get("source")})

    def status(self) -> Status:
        m = self.index.manifest
        return Status(m["n_articles"], m["n_sentences"], m["built_at"], m["model"], self.index.version)
