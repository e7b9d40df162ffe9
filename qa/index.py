"""Build, store and load the sentence index.

Layout of an index folder (default `indexes/default`):

    CURRENT               name of the version in service (replaced atomically)
    .build.lock           held by a running `qa build`
    versions/<name>/      one complete, immutable index version:
        manifest.json     model + weights sha256, counts, build time, per-article hashes
        articles.jsonl    article metadata and original text (for context and highlights)
        sentences.jsonl   one record per sentence, in vector order
        vectors.npy       normalised float32 MiniLM vectors (kept for incremental rebuilds)
        dense.faiss       FAISS inner-product index over the same vectors (llama-index FaissVectorStore)
        bm25/             llama-index BM25Retriever (bm25s, English stopwords, Snowball stemmer)

A build writes a new version into a temporary folder, renames it into `versions/`, then
swaps `CURRENT` with `os.replace`: a reader sees the old version or the new one, never a
half-written one, and a killed build leaves the old one in service. Articles whose content
hash is unchanged reuse their stored vectors, so adding one article re-embeds only it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from qa.articles import Article, ReadReport, suffix_list
from qa.embed import Embedder
from qa.errors import IndexProblem, QAError
from qa.sentences import SPLITTER_VERSION, Sentence, split_article

FORMAT_VERSION = 1
EMBED_CHUNK = 2048  # sentences per encode call: big enough to batch well, small enough for a progress bar
KEEP_VERSIONS = 2
EXACT_UP_TO = 200_000  # sentences searched exactly; an IVF index beyond (see faiss_index_for)
IVF_NPROBE = 96  # the one in service and the one before, for readers still on it


@dataclass
class BuildSummary:
    """What one build did; printed as the CLI's one-line summary."""

    articles: int = 0
    sentences: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    reused: int = 0
    embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    version: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sentences_per_second(self) -> float:
        return self.embedded / self.embed_seconds if self.embed_seconds > 0 else 0.0


@dataclass
class Index:
    """A loaded index version: sentence records, vectors, and the two searchers."""

    path: Path
    manifest: dict
    articles: dict[str, dict]
    sentences: list[Sentence]
    vectors: np.ndarray
    dense: object  # llama_index FaissVectorStore
    bm25: object  # llama_index BM25Retriever

    @property
    def version(self) -> str:
        return self.path.name

    def __len__(self) -> int:
        return len(self.sentences)

    def dense_search(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k sentence positions and cosine scores for one normalised query vector."""
        from llama_index.core.vector_stores.types import VectorStoreQuery

        k = max(1, min(k, len(self.sentences)))
        result = self.dense.query(
            VectorStoreQuery(query_embedding=query_vector.tolist(), similarity_top_k=k)
        )
        ids = np.array([int(i) for i in result.ids], dtype=np.int64)
        return ids, np.array(result.similarities, dtype=np.float32)

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every sentence for the query (zeros where no term matches)."""
        import bm25s

        tokens = bm25s.tokenize(
            [query],
            stopwords="en",
            stemmer=self.bm25.stemmer,
            token_pattern=self.bm25.token_pattern,
            show_progress=False,
            return_ids=False,
        )[0]
        vocab = self.bm25.bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(len(self.sentences), dtype=np.float32)
        return np.asarray(self.bm25.bm25.get_scores(known), dtype=np.float32)


# ----------------------------------------------------------------------------- paths


def current_version_path(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    path = index_dir / "versions" / name
    return path if name and path.is_dir() else None


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
            raise IndexProblem(
                f"another `qa build` is writing {index_dir}; wait for it to finish, then try again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, obj: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


# ----------------------------------------------------------------------------- build


def _previous_vectors(index_dir: Path, embedder: Embedder) -> tuple[dict[str, dict], list[Sentence], np.ndarray | None]:
    """Per-article records, sentences and vectors of the version in service, if reusable."""
    path = current_version_path(index_dir)
    if path is None:
        return {}, [], None
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if (
            manifest.get("format") != FORMAT_VERSION
            or manifest.get("model_sha256") != embedder.fingerprint()
            or manifest.get("splitter") != SPLITTER_VERSION
        ):
            return {}, [], None
        sentences = _read_sentences(path / "sentences.jsonl")
        vectors = np.load(path / "vectors.npy")
        if len(vectors) != len(sentences):
            return {}, [], None
        return manifest.get("articles", {}), sentences, vectors
    except (OSError, ValueError, KeyError):
        return {}, [], None  # a damaged old version is simply not reused


def build_index(
    report: ReadReport,
    index_dir: Path,
    embedder: Embedder,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
    split: Callable[[Article], list[Sentence]] = split_article,
) -> BuildSummary:
    """Builds a new index version from the articles in `report` and puts it in service.

    Args:
        report: the output of `articles.read_seeds` (articles plus skipped files).
        index_dir: the index folder; created if missing.
        embedder: what turns sentences into normalised vectors.
        full: re-embed every article instead of reusing unchanged ones.
        progress: called as progress(done, total) while embedding.
        split: the sentence splitter (benchmarks whose gold labels come pre-split pass their own).
    Returns:
        The build summary. Raises QAError when there is nothing to index.
    """
    started = time.perf_counter()
    if not report.articles:
        raise QAError(
            f"no articles to index: put article files ({suffix_list()}) in the seeds folder"
            + (f" (skipped: {', '.join(p for p, _ in report.skipped)})" if report.skipped else "")
        )
    summary = BuildSummary(skipped=list(report.skipped), warnings=list(report.warnings), duplicates=list(report.duplicates))
    with build_lock(index_dir):
        old_articles, old_sentences, old_vectors = _previous_vectors(index_dir, embedder)
        if full:
            old_vectors = None  # counts still compare with the old version; nothing is reused
        old_rows: dict[str, list[int]] = {}
        for row, s in enumerate(old_sentences):
            old_rows.setdefault(s.article_id, []).append(row)

        sentences: list[Sentence] = []
        vectors: list[np.ndarray | None] = []
        to_embed: list[int] = []
        article_meta: dict[str, dict] = {}
        for article in report.articles:
            sentences_of = split(article)
            prev = old_articles.get(article.id)
            reuse = (
                old_vectors is not None
                and prev is not None
                and prev.get("hash") == article.hash
                and len(old_rows.get(article.id, [])) == len(sentences_of)
            )
            if prev is None:
                summary.added += 1
            elif prev.get("hash") != article.hash:
                summary.changed += 1
            if reuse:
                summary.reused += 1
                vectors.extend(old_vectors[r] for r in old_rows[article.id])
            else:
                to_embed.extend(range(len(sentences), len(sentences) + len(sentences_of)))
                vectors.extend([None] * len(sentences_of))
            sentences.extend(sentences_of)
            article_meta[article.id] = {
                "hash": article.hash,
                "title": article.title,
                "source": article.source,
                "date": article.date,
                "path": article.path,
                "sentences": len(sentences_of),
            }
        summary.removed = len(set(old_articles) - set(article_meta))
        if not sentences:
            raise QAError("the articles hold no sentences to index: check that the seed files contain prose")

        if to_embed:
            embedder.encode(["warm up"])  # model load is not embedding time
        embed_started = time.perf_counter()
        for batch_start in range(0, len(to_embed), EMBED_CHUNK):
            rows = to_embed[batch_start:batch_start + EMBED_CHUNK]
            encoded = embedder.encode([sentences[r].text for r in rows])
            for r, v in zip(rows, encoded):
                vectors[r] = v
            if progress:
                progress(min(batch_start + len(rows), len(to_embed)), len(to_embed))
        summary.embed_seconds = time.perf_counter() - embed_started
        summary.embedded = len(to_embed)
        matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, embedder.dim), np.float32)

        version = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}-{time.time_ns() % 10**6:06d}"
        manifest = {
            "format": FORMAT_VERSION,
            "model": embedder.name,
            "model_sha256": embedder.fingerprint(),
            "dim": int(matrix.shape[1]),
            "splitter": SPLITTER_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "n_articles": len(article_meta),
            "n_sentences": len(sentences),
            "faiss_index": "IndexFlatIP" if len(matrix) <= EXACT_UP_TO else "IndexIVFFlat",
            "articles": article_meta,
        }
        try:
            _write_version(index_dir, version, manifest, report.articles, sentences, matrix)
        except OSError as exc:  # a full disk, a read-only folder: nothing was switched
            raise IndexProblem(
                f"could not write the new index version in {index_dir} ({exc.strerror or exc}); "
                "the previous index is still in service: free space or fix permissions, then run `qa build` again"
            ) from None
        summary.version = version
    summary.articles = len(article_meta)
    summary.sentences = len(sentences)
    summary.seconds = time.perf_counter() - started
    return summary


def _write_version(
    index_dir: Path,
    version: str,
    manifest: dict,
    articles: list[Article],
    sentences: list[Sentence],
    matrix: np.ndarray,
) -> None:
    versions = index_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    tmp = versions / f".tmp-{version}"
    tmp.mkdir()
    try:
        _write_jsonl(
            tmp / "articles.jsonl",
            [
                {"id": a.id, "title": a.title, "source": a.source, "date": a.date, "path": a.path, "text": a.text}
                for a in articles
            ],
        )
        _write_jsonl(tmp / "sentences.jsonl", [asdict(s) for s in sentences])
        with open(tmp / "vectors.npy", "wb") as f:
            np.save(f, matrix)
            f.flush()
            os.fsync(f.fileno())
        _write_dense(tmp / "dense.faiss", matrix)
        _write_bm25(tmp / "bm25", sentences, {a.id: a for a in articles})
        _write_json(tmp / "manifest.json", manifest)  # written last: its presence marks a complete version
        _fsync_dir(tmp)
        os.rename(tmp, versions / version)
        _fsync_dir(versions)
        pointer_tmp = index_dir / f".CURRENT.{version}"
        pointer_tmp.write_text(version + "\n", encoding="utf-8")
        with open(pointer_tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(pointer_tmp, index_dir / "CURRENT")
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune_versions(index_dir, keep=version)


def _prune_versions(index_dir: Path, keep: str) -> None:
    versions = index_dir / "versions"
    names = sorted(p.name for p in versions.iterdir() if p.is_dir())
    stale_tmp = [n for n in names if n.startswith(".tmp-")]
    complete = [n for n in names if not n.startswith(".tmp-")]
    old = [n for n in complete if n != keep][: max(0, len(complete) - KEEP_VERSIONS)]
    for name in old + stale_tmp:
        shutil.rmtree(versions / name, ignore_errors=True)


def faiss_index_for(matrix: np.ndarray, exact_up_to: int = EXACT_UP_TO):
    """The FAISS index for this many vectors: exact inner product while it stays fast, an
    inverted file (IVF, exact distances inside the probed lists) beyond. Measured on 2 cores
    (eval/bench_scale.py): exact search costs ~1 ms at 10k, ~16 ms at 100k, ~170 ms at 1M;
    IVF with nlist ~ sqrt(n) and nprobe 96 keeps recall@10 against exact above 0.95 in ~10 ms.
    """
    import faiss

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
        index.add(np.ascontiguousarray(matrix))  # row i is sentence i, as in sentences.jsonl
    return index


def _write_dense(path: Path, matrix: np.ndarray) -> None:
    """Writes the FAISS file through llama-index's FaissVectorStore."""
    from llama_index.vector_stores.faiss import FaissVectorStore

    # Vectors go straight into the FAISS index in one call: FaissVectorStore.add takes one
    # node at a time, which costs minutes at a million sentences.
    store = FaissVectorStore(faiss_index=faiss_index_for(matrix))
    store.persist(persist_path=str(path))


def _sentence_nodes(sentences: list[Sentence], titles: dict[str, str]) -> list:
    """llama-index TextNodes for sentences; the title is part of the BM25 text, ids are positions."""
    from llama_index.core.schema import TextNode

    nodes = []
    for i, s in enumerate(sentences):
        title = titles.get(s.article_id, "")
        nodes.append(
            TextNode(
                id_=str(i),
                text=s.text,
                metadata={"title": title} if title else {},
                metadata_template="{value}",
                text_template="{metadata_str}\n{content}",
            )
        )
    return nodes


def _write_bm25(path: Path, sentences: list[Sentence], articles: dict[str, Article]) -> None:
    from llama_index.retrievers.bm25 import BM25Retriever

    titles = {a.id: a.title for a in articles.values()}
    retriever = BM25Retriever.from_defaults(nodes=_sentence_nodes(sentences, titles), similarity_top_k=1)
    path.mkdir()
    retriever.persist(str(path), show_progress=False)


# ----------------------------------------------------------------------------- load


def _read_sentences(path: Path) -> list[Sentence]:
    with open(path, encoding="utf-8") as f:
        return [Sentence(**json.loads(line)) for line in f if line.strip()]


def load_index(index_dir: Path, expected_model_sha256: str | None = None) -> Index:
    """Loads the version in service; every failure is an IndexProblem that says what to run."""
    if not index_dir.exists() or current_version_path(index_dir) is None:
        raise IndexProblem(f"no index at {index_dir}; run `qa build` first")
    path = current_version_path(index_dir)
    rebuild = "run `qa build --full` to rebuild it"

    def damaged(name: str, why: str) -> IndexProblem:
        return IndexProblem(f"index file {path / name} is damaged ({why}); {rebuild}")

    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        assert isinstance(manifest, dict) and "n_sentences" in manifest
    except (OSError, ValueError, AssertionError) as exc:
        raise damaged("manifest.json", type(exc).__name__) from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexProblem(f"index at {path} has format {manifest.get('format')}, this qa reads {FORMAT_VERSION}; {rebuild}")
    if expected_model_sha256 and manifest.get("model_sha256") != expected_model_sha256:
        raise IndexProblem(
            f"index at {path} was built with model {manifest.get('model')} "
            f"(weights {str(manifest.get('model_sha256'))[:12]}…), not the one installed; {rebuild}"
        )
    try:
        sentences = _read_sentences(path / "sentences.jsonl")
    except (OSError, ValueError, TypeError) as exc:
        raise damaged("sentences.jsonl", type(exc).__name__) from None
    try:
        with open(path / "articles.jsonl", encoding="utf-8") as f:
            articles = {r["id"]: r for r in map(json.loads, filter(str.strip, f))}
    except (OSError, ValueError, KeyError) as exc:
        raise damaged("articles.jsonl", type(exc).__name__) from None
    try:
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise damaged("vectors.npy", type(exc).__name__) from None
    dense = _load_dense(path, damaged)
    bm25 = _load_bm25(path, damaged)
    n = manifest["n_sentences"]
    if not (len(sentences) == n == len(vectors) == dense.client.ntotal):
        raise damaged("manifest.json", "counts of sentences, vectors and FAISS rows disagree")
    return Index(path, manifest, articles, sentences, vectors, dense, bm25)


def _load_dense(path: Path, damaged: Callable[[str, str], IndexProblem]):
    from llama_index.vector_stores.faiss import FaissVectorStore

    try:
        return FaissVectorStore.from_persist_path(str(path / "dense.faiss"))
    except (RuntimeError, ValueError, OSError) as exc:
        raise damaged("dense.faiss", type(exc).__name__) from None


def _load_bm25(path: Path, damaged: Callable[[str, str], IndexProblem]):
    from llama_index.retrievers.bm25 import BM25Retriever

    try:
        return BM25Retriever.from_persist_dir(str(path / "bm25"), show_progress=False)
    except (OSError, ValueError, KeyError, EOFError, TypeError) as exc:
        raise damaged("bm25/", type(exc).__name__) from None
