"""The naive llama-index setup that `qa eval --compare` measures us against.

`VectorStoreIndex` over llama-index's default `SentenceSplitter` chunks, embedded with the
same MiniLM model (through a tiny `BaseEmbedding` adapter over our `Embedder`), top-k chunks
from its default in-memory vector store. The reply is the top chunk, as a plain RAG demo
without an LLM would show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa.articles import Article
from qa.embed import Embedder


@dataclass(frozen=True)
class Chunk:
    article_id: str
    text: str


def _adapter(embedder: Embedder):
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class EmbedderAdapter(BaseEmbedding):
        _embedder: Any = PrivateAttr()

        def __init__(self, inner: Embedder) -> None:
            super().__init__(model_name=inner.name, embed_batch_size=64)
            self._embedder = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.encode([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.encode([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.encode(texts).tolist()

    return EmbedderAdapter(embedder)


class NaiveLlamaIndex:
    """Chunks every article with the default SentenceSplitter and retrieves whole chunks."""

    def __init__(self, articles: list[Article], embedder: Embedder) -> None:
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter

        docs = [Document(text=a.text, doc_id=a.id, metadata={"article_id": a.id}) for a in articles]
        nodes = SentenceSplitter().get_nodes_from_documents(docs)
        self.n_chunks = len(nodes)
        self._index = VectorStoreIndex(nodes, embed_model=_adapter(embedder))

    def search(self, question: str, k: int = 10) -> list[Chunk]:
        retriever = self._index.as_retriever(similarity_top_k=k)
        return [Chunk(n.node.metadata.get("article_id", ""), n.node.get_content()) for n in retriever.retrieve(question)]
