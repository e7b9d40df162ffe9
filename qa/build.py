"""`qa build`: articles -> a new index version (sentences, vectors, FAISS, BM25), put in service.

Incremental by content hash: an article whose text is unchanged reuses its stored vectors,
so adding one article embeds only it; when nothing was added, changed or removed, the build
does nothing at all (no new version, so a running server does not reload). `full=True`
re-embeds everything. Each phase (split, embed, write) reports progress through one
callback, and the throughput counts only the embedding. A version holds:

    manifest.json     model + weights sha256, counts, build time, per-article hashes (written last)
    articles.jsonl    article metadata and original text (for context and highlights)
    sentences.jsonl   one record per sentence, in vector order
    vectors.npy       normalised float32 MiniLM vectors (reused by incremental builds)
    dense.faiss       FAISS inner-product index over the same vectors (qa.backends.DenseIndex)
    bm25/             BM25 over title + sentence (qa.backends.LexicalIndex)

Writing and switching are qa.store's job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa import store
from qa.articles import Article, ReadReport, suffix_list
from qa.backends import EXACT_UP_TO, DenseIndex, LexicalIndex, lexical_text
from qa.embed import Embedder
from qa.errors import IndexProblem, QAError
from qa.sentences import MAX_SENTENCE_CHARS, SPLITTER_VERSION, Sentence, split_article

FORMAT_VERSION = 2  # 2: BM25 over accent-folded words
EMBED_CHUNK = 2048  # sentences per encode call: big enough to batch well, small enough for a progress bar
Progress = Callable[[str, int, int], None]  # (phase, done, total)


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
    unchanged: bool = False  # nothing to do: the version in service already holds these articles
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sentences_per_second(self) -> float:
        return self.embedded / self.embed_seconds if self.embed_seconds > 0 else 0.0


def read_sentences(path: Path) -> list[Sentence]:
    with open(path, encoding="utf-8") as f:
        return [Sentence(**json.loads(line)) for line in f if line.strip()]


def _previous(index_dir: Path, embedder: Embedder) -> tuple[dict, dict[str, dict], list[Sentence], np.ndarray | None]:
    """Manifest, per-article records, sentences and vectors of the version in service, if reusable."""
    path = store.current_version_path(index_dir)
    if path is None:
        return {}, {}, [], None
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        # Vectors depend on the model and the splitter only: a new format re-writes the other files.
        if manifest.get("model_sha256") != embedder.fingerprint() or manifest.get("splitter") != SPLITTER_VERSION:
            return {}, {}, [], None
        sentences = read_sentences(path / "sentences.jsonl")
        vectors = np.load(path / "vectors.npy")
        if len(vectors) != len(sentences):
            return {}, {}, [], None
        return manifest, manifest.get("articles", {}), sentences, vectors
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return {}, {}, [], None  # a damaged old version is simply not reused


def display_title(article: Article, sentences: list[Sentence]) -> str:
    """What a card shows: the title, else the first sentence cut to about ten words (never the file name)."""
    if article.title:
        return article.title
    first = sentences[0].text if sentences else article.text.strip().split("\n")[0]
    words = first.split()
    return " ".join(words[:10]) + ("…" if len(words) > 10 else "")


def _meta(article: Article, n_sentences: int) -> dict:
    return {"hash": article.hash, "title": article.title, "source": article.source, "date": article.date, "published": article.published,
            "date_source": article.date_source, "path": article.path, "sentences": n_sentences, **({"pages": len(article.pages)} if article.pages else {})}


def build_index(
    report: ReadReport,
    index_dir: Path,
    embedder: Embedder,
    full: bool = False,
    progress: Progress | None = None,
    split: Callable[[Article], list[Sentence]] = split_article,
) -> BuildSummary:
    """Builds a new index version from the articles in `report` and puts it in service.

    Args:
        report: the output of `articles.read_seeds` (articles plus skipped files).
        index_dir: the index folder; created if missing.
        embedder: what turns sentences into normalised vectors.
        full: re-embed every article (and write a new version) instead of reusing.
        progress: called as progress(phase, done, total) for "split", "embed" and "write".
        split: the sentence splitter (benchmarks whose gold labels come pre-split pass their own).
    Returns:
        The build summary. Raises QAError when there is nothing to index.
    """
    started = time.perf_counter()
    tell = progress or (lambda phase, done, total: None)
    if not report.articles:
        raise QAError(
            f"no articles to index: put article files ({suffix_list()}) in the seeds folder"
            + (f" (skipped: {', '.join(p for p, _ in report.skipped)})" if report.skipped else "")
        )
    summary = BuildSummary(skipped=list(report.skipped), warnings=list(report.warnings), duplicates=list(report.duplicates))
    with store.build_lock(index_dir):
        old_manifest, old_articles, old_sentences, old_vectors = _previous(index_dir, embedder)
        old_rows: dict[str, list[int]] = {}
        for row, s in enumerate(old_sentences):
            old_rows.setdefault(s.article_id, []).append(row)
        sentences: list[Sentence] = []
        vectors: list[np.ndarray | None] = []
        to_embed: list[int] = []
        article_meta: dict[str, dict] = {}
        for n, article in enumerate(report.articles):
            tell("split", n, len(report.articles))
            cut: list[int] = []
            sentences_of = split_article(article, cut) if split is split_article else split(article)
            if cut:
                summary.warnings.append((article.path or article.id, f"{len(cut)} over-long sentence(s) cut into pieces of at most {MAX_SENTENCE_CHARS:,} characters"))
            prev = old_articles.get(article.id)
            reuse = not full and old_vectors is not None and prev is not None and prev.get("hash") == article.hash and len(old_rows.get(article.id, [])) == len(sentences_of)
            if prev is None:
                summary.added += 1
            elif prev.get("hash") != article.hash:
                summary.changed += 1
            if reuse and old_vectors is not None:
                summary.reused += 1
                vectors.extend(old_vectors[r] for r in old_rows[article.id])
            else:
                to_embed.extend(range(len(sentences), len(sentences) + len(sentences_of)))
                vectors.extend([None] * len(sentences_of))
            sentences.extend(sentences_of)
            article_meta[article.id] = {**_meta(article, len(sentences_of)), "display_title": display_title(article, sentences_of)}
        tell("split", len(report.articles), len(report.articles))
        summary.removed = len(set(old_articles) - set(article_meta))
        summary.articles, summary.sentences = len(article_meta), len(sentences)
        if not sentences:
            raise QAError("the articles hold no sentences to index: check that the seed files contain prose")
        if not full and not to_embed and old_manifest.get("format") == FORMAT_VERSION and article_meta == old_articles and [a.id for a in report.articles] == list(old_articles):
            summary.unchanged = True
            summary.version = getattr(store.current_version_path(index_dir), "name", "")
            summary.seconds = time.perf_counter() - started
            return summary
        if to_embed:
            embedder.encode(["warm up"])  # model load is not embedding time
        embed_started = time.perf_counter()
        tell("embed", 0, len(to_embed))
        for batch_start in range(0, len(to_embed), EMBED_CHUNK):
            rows = to_embed[batch_start : batch_start + EMBED_CHUNK]
            for r, v in zip(rows, embedder.encode([sentences[r].text for r in rows])):
                vectors[r] = v
            tell("embed", min(batch_start + len(rows), len(to_embed)), len(to_embed))
        summary.embed_seconds = time.perf_counter() - embed_started
        summary.embedded = len(to_embed)
        matrix = np.vstack([v for v in vectors if v is not None]).astype(np.float32) if vectors else np.zeros((0, embedder.dim), np.float32)
        version = store.new_version_name()
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
            "seeds": report.folders,
            "articles": article_meta,
        }
        tell("write", 0, 1)
        try:
            store.publish(index_dir, version, lambda folder: write_version(folder, manifest, report.articles, sentences, matrix))
        except OSError as exc:  # a full disk, a read-only folder: nothing was switched
            raise IndexProblem(
                f"could not write the new index version in {index_dir} ({exc.strerror or exc}); "
                "the previous index is still in service: free space or fix permissions, then run `qa build` again"
            ) from None
        tell("write", 1, 1)
        summary.version = version
    summary.seconds = time.perf_counter() - started
    return summary


def write_version(folder: Path, manifest: dict, articles: list[Article], sentences: list[Sentence], matrix: np.ndarray) -> None:
    """Every file of one version, the manifest last."""
    store.write_jsonl(folder / "articles.jsonl", [{"id": a.id, "title": a.title, "display_title": manifest["articles"][a.id]["display_title"],
                                                   "source": a.source, "date": a.date, "published": a.published,
                                                   "date_source": a.date_source, "path": a.path, "text": a.text,
                                                   **({"pages": list(a.pages)} if a.pages else {})} for a in articles])
    store.write_jsonl(folder / "sentences.jsonl", [asdict(s) for s in sentences])
    with open(folder / "vectors.npy", "wb") as f:
        np.save(f, matrix)
    DenseIndex.build(matrix).write(folder / "dense.faiss")
    titles = {a.id: a.title for a in articles}
    (folder / "bm25").mkdir()
    LexicalIndex.build([lexical_text(titles.get(s.article_id, ""), s.text) for s in sentences]).write(folder / "bm25")
    store.write_json(folder / "manifest.json", manifest)
