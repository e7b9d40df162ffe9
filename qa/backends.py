"""The two searchers an index version holds, as small typed adapters over public APIs.

- `DenseIndex`: FAISS inner product over normalised MiniLM vectors (cosine). Exact
  (`IndexFlatIP`) up to `EXACT_UP_TO` sentences, an inverted file (`IndexIVFFlat`) beyond.
  Written with `faiss.write_index`, read with `faiss.read_index`.
- `LexicalIndex`: BM25 (bm25s, Lucene variant, k1 1.5, b 0.75) over each sentence with its
  article's title, English stop words removed and words Snowball-stemmed (PyStemmer).
  `tokenize` is the one place these settings live: building, scoring a question and the
  answer step's query-term coverage all go through it.

Row i of either searcher is sentence i of the version's sentences.jsonl. Reading either
file never maps it into memory, so a file damaged on disk while the server runs cannot
crash the process (a mapped file that shrinks raises SIGBUS).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.text import fold

EXACT_UP_TO = 200_000  # sentences searched exactly; an IVF index beyond (see dense_for)
IVF_NPROBE = 96
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
STOPWORDS = "en"


class DenseIndex:
    """Top-k cosine search over the sentence vectors."""

    def __init__(self, index) -> None:
        self._index = index

    @staticmethod
    def build(matrix: np.ndarray, exact_up_to: int = EXACT_UP_TO) -> DenseIndex:
        """Exact inner product while it stays fast, an inverted file beyond. Measured on 2 cores
        (eval/bench_scale.py): exact search costs ~1 ms at 10k, ~16 ms at 100k, ~170 ms at 1M;
        IVF with nlist ~ sqrt(n) and nprobe 96 keeps recall@10 against exact above 0.95 in ~10 ms."""
        import faiss

        index: Any
        n, dim = matrix.shape
        if n <= exact_up_to:
            index = faiss.IndexFlatIP(dim)
        else:
            nlist = int(min(4096, max(64, 2 ** round(np.log2(np.sqrt(n))))))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = matrix[np.random.default_rng(0).choice(n, size=min(n, nlist * 40), replace=False)]
            index.train(np.ascontiguousarray(sample))
            index.nprobe = IVF_NPROBE
        if n:
            index.add(np.ascontiguousarray(matrix, dtype=np.float32))  # row i is sentence i
        return DenseIndex(index)

    @property
    def kind(self) -> str:
        return type(self._index).__name__

    @property
    def faiss(self):
        """The FAISS index itself (benchmarks measure it directly)."""
        return self._index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def write(self, path: Path) -> None:
        """Serialised in memory, written by Python: a full disk is an OSError (ENOSPC) like any
        other write, not FAISS's RuntimeError."""
        import faiss

        with open(path, "wb") as f:
            f.write(faiss.serialize_index(self._index).tobytes())

    @staticmethod
    def read(path: Path) -> DenseIndex:
        import faiss

        index = faiss.read_index(str(path))
        if hasattr(index, "nprobe"):
            index.nprobe = IVF_NPROBE
        return DenseIndex(index)

    def search(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows and cosines for one normalised query vector, best first."""
        k = max(1, min(k, len(self)))
        scores, ids = self._index.search(np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1), k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


# Irregular past forms the Snowball stemmer leaves apart from their verb: "What did Waltz say?"
# must match "said Waltz". News questions lean on these verbs.
_IRREGULAR = {
    "said": "say", "says": "say", "told": "tell", "wrote": "write", "written": "write", "spoke": "speak", "spoken": "speak",
    "thought": "think", "met": "meet", "won": "win", "ran": "run", "began": "begin", "begun": "begin", "came": "come",
    "went": "go", "gone": "go", "gave": "give", "given": "give", "took": "take", "taken": "take", "made": "make",
    "held": "hold", "left": "leave", "led": "lead", "sent": "send", "found": "find", "kept": "keep", "lost": "lose",
    "paid": "pay", "sold": "sell", "built": "build", "brought": "bring", "bought": "buy", "fought": "fight", "fell": "fall",
    "fallen": "fall", "rose": "rise", "risen": "rise", "struck": "strike", "hit": "hit", "shot": "shoot", "died": "die",
    "chose": "choose", "chosen": "choose", "knew": "know", "known": "know", "saw": "see", "seen": "see", "grew": "grow",
}
_IRREGULAR_RE = re.compile(r"\b(" + "|".join(_IRREGULAR) + r")\b")


def _normalise(text: str) -> str:
    return _IRREGULAR_RE.sub(lambda m: _IRREGULAR[m.group(1)], fold(text))


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25's view of each text: accents folded ("Temür" is "temur"), irregular verbs at their
    base ("said" is "say"), lower-cased words of 2+ characters, stop words removed, stemmed."""
    import bm25s

    return bm25s.tokenize([_normalise(t) for t in texts], stopwords=STOPWORDS, stemmer=_stemmer(), token_pattern=TOKEN_PATTERN, show_progress=False, return_ids=False)


def lexical_text(title: str, sentence: str) -> str:
    """What BM25 indexes for a sentence: its article's title, then the sentence."""
    return f"{title}\n{sentence}" if title else sentence


class LexicalIndex:
    """BM25 scores of every sentence for a question."""

    def __init__(self, bm25) -> None:
        self._bm25 = bm25
        self._vocab = bm25.vocab_dict

    @staticmethod
    def build(texts: list[str]) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25()
        tokens = tokenize(texts)
        bm25.index(tokens if any(tokens) else [["\u2205"] for _ in texts], show_progress=False)
        return LexicalIndex(bm25)

    def __len__(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def write(self, folder: Path) -> None:
        self._bm25.save(str(folder))

    @staticmethod
    def read(folder: Path) -> LexicalIndex:
        import bm25s

        return LexicalIndex(bm25s.BM25.load(str(folder), mmap=False))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every sentence (zeros where no term matches)."""
        known = [t for t in tokenize([query])[0] if t in self._vocab]
        if not known:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
