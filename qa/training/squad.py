"""SQuAD v1.1 train as the product sees it, and hard negatives mined by the product's own first stage.

Each Wikipedia title becomes one `Article` (its paragraphs joined by blank lines, as
qa.evaluation.benchmarks does for SQuAD dev) split by `qa.sentences.split_article`, so the model
trains on sentences cut exactly as the index cuts them. A question's gold sentence is the
one holding its answer's first occurrence.

Mining: the articles are put into buckets of 13 (the size of SQuAD-13, the benchmark), each
bucket is indexed with `qa.index.build_index` and searched with `qa.retrieve.Retriever`'s
first stage (BM25 + MiniLM on sentences and contexts, z-score fused): exactly the
candidates the reranker is handed in use. The best `MINE_K` sentences of every question
are stored once (`mined.jsonl.gz`, a few MB, beside the checkpoint) and reused by every
later run; the per-bucket work is cached so an interrupted mining run resumes.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.articles import Article, ReadReport, content_hash
from qa.errors import QAError
from qa.sentences import Sentence, split_article

BUCKET = 13
MINE_K = 16
# The training run's sentences are fixed: the product's cap on over-long sentences (added
# later) would move 8 of SQuAD train's 92,605 sentence indexes and so the mined hits of a
# run in progress; the cap is not applied here.
TRAIN_SPLITTER = "punkt+news-1"


@dataclass(frozen=True)
class TrainQuestion:
    qid: int
    question: str
    answers: tuple[str, ...]
    article: int  # index into Corpus.articles
    gold: int  # sentence index within the article
    span: tuple[int, int]  # answer characters inside the gold sentence's text


@dataclass
class Corpus:
    articles: list[Article]
    sentences: list[list[Sentence]]  # per article
    questions: list[TrainQuestion]
    buckets: list[list[int]] = field(default_factory=list)  # article indexes
    validation: set[int] = field(default_factory=set)  # article indexes never trained on

    def title(self, a: int) -> str:
        return self.articles[a].title


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise QAError(f"training data not found: {path} (expected paragraphs.jsonl and questions.jsonl; pass --data)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except (json.JSONDecodeError, RecursionError, ValueError) as e:
                    raise QAError(f"{path}:{n}: not JSON ({getattr(e, 'msg', type(e).__name__)})") from None
    return rows


def _check(rows: list[dict], keys: tuple[str, ...], path: Path) -> None:
    bad = next((n for n, r in enumerate(rows, 1) if not isinstance(r, dict) or any(k not in r for k in keys)), None)
    if bad:
        raise QAError(f"{path}: row {bad} lacks one of {', '.join(keys)}")


def load_corpus(data: Path, seed: int = 13, validation_articles: int = 2 * BUCKET) -> Corpus:
    """Articles, sentences and questions of SQuAD-train-layout data in `data`."""
    data = Path(data)
    paragraphs = read_jsonl(data / "paragraphs.jsonl")
    questions = read_jsonl(data / "questions.jsonl")
    _check(paragraphs, ("pid", "title", "context"), data / "paragraphs.jsonl")
    _check(questions, ("pid", "question", "answers"), data / "questions.jsonl")
    by_title: dict[str, list[dict]] = {}
    for p in paragraphs:
        by_title.setdefault(str(p["title"]), []).append(p)
    articles: list[Article] = []
    sentences: list[list[Sentence]] = []
    where: dict[object, tuple[int, int]] = {}  # pid -> (article, offset of the stripped context)
    for title in sorted(by_title):
        parts, pos = [], 0
        for p in by_title[title]:
            ctx = str(p["context"])
            lead = len(ctx) - len(ctx.lstrip())
            where[p["pid"]] = (len(articles), pos - lead)
            parts.append(ctx.strip())
            pos += len(ctx.strip()) + 2
        text = "\n\n".join(parts)
        article = Article(id=title, title=title.replace("_", " "), source="Wikipedia (SQuAD v1.1 train)", date="", text=text, hash=content_hash(text))
        articles.append(article)
        sentences.append(split_article(article, limit=None))
    out: list[TrainQuestion] = []
    for n, q in enumerate(questions):
        loc = where.get(q["pid"])
        answers = tuple(str(a) for a in q.get("answers") or [] if str(a).strip())
        start = q.get("answer_start", -1)
        if loc is None or not answers or not isinstance(start, int) or start < 0:
            continue
        a, offset = loc
        start += offset
        end = start + len(answers[0])
        gold = next((s for s in sentences[a] if s.start <= start < s.end), None)
        if gold is None or end > gold.end or articles[a].text[start:end] != answers[0]:
            continue
        out.append(TrainQuestion(int(q.get("qid", n)), str(q["question"]), answers, a, gold.index, (start - gold.start, end - gold.start)))
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)
    buckets = [sorted(order[i : i + BUCKET]) for i in range(0, len(order), BUCKET)]
    validation = set(order[len(order) - validation_articles :]) if len(order) > 2 * validation_articles else set()
    return Corpus(articles, sentences, out, buckets, validation)


# ----------------------------------------------------------------------------- mining


def heldout_squad(data: Path, target: Path) -> Path:
    """The validation articles of SQuAD train (those the reader never trains on) written to
    `target` as SQuAD v1.1 JSON, for the studies that fit settings on them (eval/abstention_study.py,
    eval/fusion_study.py) rather than on a benchmark."""
    corpus = load_corpus(data)
    titles = {corpus.articles[a].id for a in corpus.validation}
    paragraphs = [p for p in read_jsonl(data / "paragraphs.jsonl") if p["title"] in titles]
    by_pid: dict = {}
    for q in read_jsonl(data / "questions.jsonl"):
        by_pid.setdefault(q["pid"], []).append(q)
    articles: dict[str, list] = {}
    for p in paragraphs:
        qas = [{"id": f"t{q.get('qid', i)}", "question": q["question"],
                "answers": [{"text": q["answers"][0], "answer_start": q["answer_start"]}]}
               for i, q in enumerate(by_pid.get(p["pid"], [])) if q.get("answers") and isinstance(q.get("answer_start"), int)]
        articles.setdefault(p["title"], []).append({"context": p["context"], "qas": qas})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"version": "1.1", "data": [{"title": t, "paragraphs": ps} for t, ps in sorted(articles.items())]}))
    return target


def _bucket_hits(corpus: Corpus, bucket: list[int], work: Path, embedder, k: int) -> dict[int, list[list[int]]]:
    """The first stage's best k (article, sentence) for every question of one bucket."""
    from qa.build import build_index
    from qa.index import load_index
    from qa.retrieve import Retriever

    arts = [corpus.articles[a] for a in bucket]
    index_of = {corpus.articles[a].id: a for a in bucket}
    build_index(ReadReport(articles=arts), work, embedder, split=lambda art: corpus.sentences[index_of[art.id]])
    index = load_index(work)
    retriever = Retriever(index, embedder, mode="hybrid", reranker=None, rerank_depth=0)
    members = set(bucket)
    qs = [q for q in corpus.questions if q.article in members]
    vectors = embedder.encode([q.question for q in qs]) if qs else []
    out: dict[int, list[list[int]]] = {}
    for q, v in zip(qs, vectors):
        hits = retriever.first_stage(q.question, k, v)
        out[q.qid] = [[index_of[h.sentence.article_id], h.sentence.index] for h in hits]
    return out


def mine(corpus: Corpus, target: Path, cache: Path, embedder, log: Callable[[str], None] = print, k: int = MINE_K) -> dict[int, list[list[int]]]:
    """Hard negatives for every question, mined once and stored in `target` (jsonl.gz).

    Mining is done a bucket at a time; each bucket's hits are kept (gzipped, a few hundred KB)
    in `target`'s folder under "mining/" until `target` is written, so that mining cut short
    resumes where it stopped, in this session or, once the checkpoint folder is committed, in
    the next one (a new checkout has no `cache`). `cache` holds the buckets' scratch index."""
    key = {"splitter": TRAIN_SPLITTER, "k": k, "bucket": BUCKET, "questions": len(corpus.questions), "articles": len(corpus.articles)}
    if target.is_file():
        mined = read_mined(target)
        if mined[0] == key:
            return mined[1]
        log(f"{target} was mined with other settings; mining again")
    cache.mkdir(parents=True, exist_ok=True)
    parts = target.parent / "mining"
    parts.mkdir(parents=True, exist_ok=True)
    hits: dict[int, list[list[int]]] = {}
    t0 = time.time()
    for b, bucket in enumerate(corpus.buckets):
        # the encoder is in the part's name, not in `key`: a mined file stays valid for its run
        part = parts / f"bucket-{b:03d}-{content_hash(json.dumps([key, bucket, embedder.fingerprint()]))[:10]}.json.gz"
        if part.is_file():
            with gzip.open(part, "rt", encoding="utf-8") as f:
                found = {int(q): h for q, h in json.load(f).items()}
        else:
            found = _bucket_hits(corpus, bucket, cache / "index", embedder, k)
            tmp = part.with_name(part.name + ".tmp")
            with gzip.open(tmp, "wt", encoding="utf-8") as f:
                json.dump(found, f, separators=(",", ":"))
            tmp.replace(part)
        hits.update(found)
        log(f"mined bucket {b + 1}/{len(corpus.buckets)} ({len(hits)} questions, {time.time() - t0:.0f} s)")
    tmp = target.with_name(target.name + ".tmp")
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        f.write(json.dumps(key) + "\n")
        for qid in sorted(hits):
            f.write(json.dumps([qid, hits[qid]], separators=(",", ":")) + "\n")
    tmp.replace(target)
    shutil.rmtree(parts, ignore_errors=True)  # all of it is in `target` now
    return hits


def read_mined(path: Path) -> tuple[dict, dict[int, list[list[int]]]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        key = json.loads(f.readline())
        hits = {}
        for line in f:
            qid, h = json.loads(line)
            hits[int(qid)] = h
    return key, hits


_NORM_RE = re.compile(r"[^\w\s]")


def norm(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: for 'does this sentence hold the answer'."""
    return " ".join(_NORM_RE.sub(" ", text.lower()).split())
