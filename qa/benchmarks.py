"""Public benchmarks as qa corpora: SQuAD v1.1 (open setting) and HotpotQA (distractor, pooled).

Each loader returns articles to index, a splitter that fixes the sentence boundaries the
gold labels refer to, and questions whose gold is a set of (article_id, sentence_index).
- SQuAD: one article per Wikipedia title, its paragraphs joined by blank lines and split by
  our own splitter; the gold sentences are those holding an annotated answer span.
- HotpotQA: every paragraph of every question pooled (deduplicated by title); sentences are
  the dataset's own, so the gold supporting facts map exactly.
The data is read from where it lies (../shared/data); nothing is copied into the repo.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.articles import Article, content_hash
from qa.baselines import NaiveLlamaIndex
from qa.errors import QAError
from qa.sentences import Sentence, split_article

BENCHMARKS = ("squad", "hotpot")


@dataclass(frozen=True)
class BenchQuestion:
    id: str
    question: str
    answers: list[str]
    gold: frozenset[tuple[str, int]]  # (article_id, sentence_index)
    article_id: str = ""


@dataclass
class Benchmark:
    name: str
    articles: list[Article]
    questions: list[BenchQuestion]
    split: Callable[[Article], list[Sentence]] = split_article
    sentences: dict[str, list[Sentence]] = field(default_factory=dict)


def _read_json(path: Path) -> dict | list:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise QAError(f"benchmark data not found: {path}; pass --data with the file's path") from None
    except json.JSONDecodeError as exc:
        raise QAError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def load_squad(path: Path) -> Benchmark:
    """SQuAD v1.1 JSON: all paragraphs of all articles, all questions."""
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise QAError(f"{path}: not SQuAD v1.1 JSON (no top-level 'data' list)")
    articles: list[Article] = []
    questions: list[BenchQuestion] = []
    sentences: dict[str, list[Sentence]] = {}
    for art in data["data"]:
        title = art["title"].replace("_", " ")
        offsets, parts, pos = [], [], 0
        for para in art["paragraphs"]:
            ctx = para["context"].strip()
            offsets.append(pos)
            parts.append(ctx)
            pos += len(ctx) + 2
        text = "\n\n".join(parts)
        article = Article(id=art["title"], title=title, source="Wikipedia (SQuAD v1.1)", date="", text=text, hash=content_hash(text))
        articles.append(article)
        sents = split_article(article)
        sentences[article.id] = sents
        for p, para in enumerate(art["paragraphs"]):
            lead = len(para["context"]) - len(para["context"].lstrip())
            for qa in para["qas"]:
                gold = set()
                for ans in qa["answers"]:
                    start = offsets[p] + ans["answer_start"] - lead
                    end = start + len(ans["text"])
                    for s in sents:
                        if s.start < end and start < s.end and s.paragraph == p:
                            gold.add((article.id, s.index))
                            break
                questions.append(
                    BenchQuestion(qa["id"], qa["question"], sorted({a["text"] for a in qa["answers"]}), frozenset(gold), article.id)
                )
    return Benchmark("squad", articles, questions, split=lambda a: sentences[a.id], sentences=sentences)


def _pairs(value: list | dict, second: str) -> list[tuple]:
    """HotpotQA's (title, x) pairs, from the original list layout or the columnar one
    ({"title": [...], second: [...]}) that the Hugging Face copy uses."""
    if isinstance(value, dict):
        return list(zip(value["title"], value[second]))
    return [tuple(v) for v in value]


def load_hotpot(path: Path) -> Benchmark:
    """HotpotQA distractor JSON: pooled paragraphs, gold supporting sentences."""
    data = _read_json(path)
    if not isinstance(data, list):
        raise QAError(f"{path}: not HotpotQA JSON (expected a list of questions)")
    by_title: dict[str, list[str]] = {}
    for item in data:
        for title, sents in _pairs(item["context"], "sentences"):
            by_title.setdefault(title, sents)
    articles, sentences = [], {}
    for title, sents in by_title.items():
        text, spans, pos = "", [], 0
        for s in sents:
            piece = s.strip()
            if text:
                text += " "
            start = len(text)
            text += piece
            spans.append((start, len(text)))
        article = Article(id=title, title=title, source="Wikipedia (HotpotQA)", date="", text=text, hash=content_hash(text))
        articles.append(article)
        sentences[title] = [
            Sentence(title, i, 0, s, e, text[s:e]) for i, (s, e) in enumerate(spans) if e > s
        ]
    questions = []
    for n, item in enumerate(data):
        gold = frozenset((t, i) for t, i in _pairs(item["supporting_facts"], "sent_id") if t in sentences and i < len(by_title[t]))
        qid = str(item.get("_id", item.get("id", n)))
        questions.append(BenchQuestion(qid, item["question"], [item["answer"]], gold))
    return Benchmark("hotpot", articles, questions, split=lambda a: sentences[a.id], sentences=sentences)


def load(name: str, path: Path) -> Benchmark:
    if name == "squad":
        return load_squad(path)
    if name == "hotpot":
        return load_hotpot(path)
    raise QAError(f"unknown --benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}")


# ----------------------------------------------------------------------------- running


@dataclass
class _Tally:
    """Per-method accumulators over questions."""

    ranks: list[int | None] = field(default_factory=list)  # 1-based rank of first gold hit in top 10
    both5: list[bool] = field(default_factory=list)
    both10: list[bool] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    words: list[int] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    abstained: list[bool] = field(default_factory=list)

    def metrics(self) -> dict:
        from qa.evaluate import percentile

        n = len(self.ranks)

        def mean(xs: list) -> float | None:
            return round(sum(map(float, xs)) / len(xs), 4) if xs else None

        out = {f"recall@{k}": round(sum(1 for r in self.ranks if r is not None and r <= k) / n, 4) for k in (1, 3, 5, 10)}
        out["mrr@10"] = round(sum(1 / r for r in self.ranks if r is not None) / n, 4)
        if self.both5:
            out["both@5"], out["both@10"] = mean(self.both5), mean(self.both10)
        out.update(
            {
                "answer_accuracy": mean(self.correct),
                "citation_precision": mean(self.precision),
                "citation_recall": mean(self.recall),
                "words_read": round(sum(self.words) / n, 1),
                "mean_citations": mean(self.cited),
                "false_abstention_rate": mean(self.abstained),
                "latency_p50_ms": round(percentile(self.latency, 50), 2),
                "latency_p95_ms": round(percentile(self.latency, 95), 2),
            }
        )
        return out


METHODS = ("bm25", "dense", "rrf", "naive-llama-index", "hybrid", "qa")
METHOD_LABELS = {
    "bm25": "BM25 alone",
    "dense": "MiniLM dense alone",
    "rrf": "RRF(BM25, dense)",
    "naive-llama-index": "naive llama-index (top-1 chunk)",
    "hybrid": "qa first stage alone (hybrid + context, no reranker)",
    "qa": "qa (hybrid + context + reranker, cited reply)",
}


class _ShortAnswers:
    """How often a bold short answer is shown, per wanted kind, and how often it is right."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}  # kind -> [questions, shown, right]

    def add(self, question: str, shown: str | None, answers: list[str]) -> None:
        from qa.answer_type import wanted
        from qa.evaluate import contains, normalize

        kind = wanted(question)
        if kind is None:
            return
        c = self.counts.setdefault(kind, [0, 0, 0])
        c[0] += 1
        if shown:
            s = normalize(shown)
            c[1] += 1
            c[2] += any(a and (contains(s, a) or contains(a, s)) for a in answers)

    def metrics(self) -> dict:
        return {
            k: {"questions": q, "shown": n, "right": r, "coverage": round(n / q, 3) if q else 0.0, "precision": round(r / n, 3) if n else None}
            for k, (q, n, r) in sorted(self.counts.items())
        }


def _rank(found: list[bool]) -> int | None:
    return next((i + 1 for i, f in enumerate(found) if f), None)


def run_benchmark(
    bench: Benchmark,
    index_dir: Path,
    embedder,
    settings,
    methods: tuple[str, ...] = ("qa",),
    limit: int | None = None,
    progress: bool = True,
) -> dict:
    """Indexes the benchmark's articles (reusing unchanged vectors) and scores each method.

    Returns:
        A dict with the per-method metrics, the abstention check (SQuAD) and example misses.
    """
    from tqdm import tqdm

    from qa.answer import compose, evidence_strength
    from qa.articles import ReadReport
    from qa.evaluate import contains, normalize
    from qa.index import build_index, load_index
    from qa.rerank import Reranker
    from qa.retrieve import FusionWeights, Retriever

    build = build_index(ReadReport(articles=bench.articles), index_dir, embedder, split=bench.split)
    index = load_index(index_dir, expected_model_sha256=embedder.fingerprint())
    retrievers = {
        "bm25": Retriever(index, embedder, mode="bm25"),
        "dense": Retriever(index, embedder, mode="dense"),
        "rrf": Retriever(index, embedder, mode="hybrid", weights=FusionWeights(1.0, 1.0, 0.0, 0.0, method="rrf")),
        "hybrid": Retriever(index, embedder, mode=settings.retriever, candidates=settings.candidates),
        "qa": Retriever(
            index, embedder, mode=settings.retriever, candidates=settings.candidates,
            reranker=Reranker(settings.reranker_dir) if settings.rerank_depth > 0 else None, rerank_depth=settings.rerank_depth,
            hop_depth=settings.hop_depth,
        ),
    }
    naive = None
    if "naive-llama-index" in methods:
        naive = NaiveLlamaIndex(bench.articles, embedder)
    questions = bench.questions[:limit] if limit else bench.questions
    tallies = {m: _Tally() for m in methods}
    short = _ShortAnswers()
    misses: list[dict] = []
    strengths: list[tuple[float, float]] = []  # (with its article, without it): SQuAD only
    text_of = {(s.article_id, s.index): s.text for s in index.sentences}
    for q in tqdm(questions, desc=bench.name, unit="q", disable=not progress, leave=False, mininterval=2):
        t0 = time.perf_counter()
        qvec = embedder.encode([q.question])[0]
        embed_ms = (time.perf_counter() - t0) * 1000
        answers = [normalize(a) for a in q.answers]
        gold_texts = [normalize(text_of[g]) for g in q.gold if g in text_of]
        for m in methods:
            t1 = time.perf_counter()
            if m == "naive-llama-index":
                chunks = naive.search(q.question, k=10)
                ms = (time.perf_counter() - t1) * 1000  # includes its own query embedding
                norm_chunks = [normalize(c.text) for c in chunks]
                found = [any(g in c for g in gold_texts) for c in norm_chunks]
                reply, cited, abstained = (chunks[0].text if chunks else ""), norm_chunks[:1], False
                per_gold = lambda k: all(any(g in c for c in norm_chunks[:k]) for g in gold_texts)  # noqa: E731
                cited_gold = [any(g in c for c in norm_chunks[:1]) for g in gold_texts]
                cited_is_gold = [any(g in c for g in gold_texts) for c in norm_chunks[:1]]
            else:
                r = retrievers[m]
                hits = r.search(q.question, k=10, query_vector=qvec if m != "bm25" else None)
                if m == "qa":
                    r.with_coverage(q.question, hits[:3])
                keys = [(h.sentence.article_id, h.sentence.index) for h in hits]
                if m == "qa":
                    ans = compose(q.question, q.question, hits, index.articles, settings)
                    reply, abstained = ans.text, ans.abstained
                    cited_keys = [(c.article_id, c.sentence_index) for c in ans.citations]
                else:
                    reply, abstained = (hits[0].sentence.text if hits else ""), False
                    cited_keys = keys[:1]
                ms = (time.perf_counter() - t1) * 1000 + (embed_ms if m != "bm25" else 0.0)
                if m == "qa":
                    short.add(q.question, ans.short_answer, answers)
                    if bench.name == "squad":  # not timed: the same question with its article removed
                        wide = r.first_stage(q.question, k=80, query_vector=qvec)
                        other = [h for h in wide if h.sentence.article_id != q.article_id]
                        other = r.with_coverage(q.question, r.rerank(q.question, other, 3) if r.reranker else other[:3])
                        strengths.append((evidence_strength(hits, settings.coverage_weight), evidence_strength(other, settings.coverage_weight)))
                found = [k in q.gold for k in keys]
                cited = [normalize(text_of[k]) for k in cited_keys]
                per_gold = lambda k, keys=keys: all(g in keys[:k] for g in q.gold)  # noqa: E731
                cited_gold = [g in cited_keys for g in q.gold]
                cited_is_gold = [k in q.gold for k in cited_keys]
                if m == "qa" and len(misses) < 200 and not (found and found[0]):
                    gold_sentence = next((text_of[g] for g in q.gold if g in text_of), "")
                    misses.append({"question": q.question, "answers": q.answers, "gold": gold_sentence, "top": hits[0].sentence.text if hits else ""})
            t = tallies[m]
            t.latency.append(ms)
            t.ranks.append(_rank(found))
            norm_reply = normalize(reply)
            t.correct.append(not abstained and any(contains(norm_reply, a) for a in answers if a))
            t.words.append(0 if abstained else len(reply.split()))
            t.cited.append(len(cited))
            t.abstained.append(abstained)
            if cited:
                if bench.name == "squad":
                    t.precision.append(sum(any(contains(c, a) for a in answers if a) for c in cited) / len(cited))
                else:
                    t.precision.append(sum(cited_is_gold) / len(cited_is_gold))
            if bench.name == "hotpot" and q.gold:
                t.recall.append(sum(cited_gold) / len(cited_gold))
                t.both5.append(per_gold(5))
                t.both10.append(per_gold(10))
    result = {
        "benchmark": bench.name,
        "n_questions": len(questions),
        "n_articles": len(bench.articles),
        "n_sentences": len(index),
        "n_chunks_naive": naive.n_chunks if naive else None,
        "build_seconds": round(build.seconds, 1),
        "methods": {m: tallies[m].metrics() for m in methods},
        "misses": misses[:10],
    }
    if "qa" in methods:
        result["short_answers"] = short.metrics()
    if strengths:
        result["abstention"] = abstention_check(strengths, settings.abstain_below)
    return result


def abstention_check(pairs: list[tuple[float, float]], threshold: float) -> dict:
    """How well evidence strength separates answerable (article indexed) from unanswerable
    (article removed) versions of the same questions: ROC-AUC and accuracy at thresholds."""
    import numpy as np

    pos = np.array([p for p, _ in pairs])
    neg = np.array([n for _, n in pairs])
    # AUC = P(strength with article > strength without), ties counting half
    order = np.sort(neg)
    below = np.searchsorted(order, pos, side="left")
    ties = np.searchsorted(order, pos, side="right") - below
    auc = float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))

    def acc(t: float) -> float:
        return float(((pos >= t).sum() + (neg < t).sum()) / (2 * len(pos)))

    grid = np.round(np.arange(0.30, 1.21, 0.02), 2)
    best = max(grid, key=acc)
    return {
        "roc_auc": round(auc, 4),
        "threshold": threshold,
        "balanced_accuracy_at_threshold": round(acc(threshold), 4),
        "false_abstention_at_threshold": round(float((pos < threshold).mean()), 4),
        "abstention_at_threshold": round(float((neg < threshold).mean()), 4),
        "best_threshold": float(best),
        "balanced_accuracy_at_best": round(acc(float(best)), 4),
        "curve": {
            f"{t:.2f}": {
                "balanced_accuracy": round(acc(float(t)), 4),
                "false_abstention": round(float((pos < t).mean()), 4),
                "abstention": round(float((neg < t).mean()), 4),
            }
            for t in grid
        },
    }


def format_table(result: dict) -> str:
    """A Markdown table of the methods side by side."""
    methods = result["methods"]
    keys = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10"]
    if result["benchmark"] == "hotpot":
        keys += ["both@5", "both@10", "citation_recall"]
    keys += ["answer_accuracy", "citation_precision", "words_read", "latency_p50_ms", "latency_p95_ms"]
    head = "| method | " + " | ".join(keys) + " |"
    sep = "|---|" + "---:|" * len(keys)
    rows = []
    for m, vals in methods.items():
        cells = []
        for k in keys:
            v = vals.get(k)
            cells.append("n/a" if v is None else (f"{v:.1f}" if k.startswith(("latency", "words")) else f"{v:.3f}"))
        rows.append(f"| {METHOD_LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *rows])


def run_benchmark_command(args, settings) -> int:
    """`qa eval --benchmark NAME --data FILE [--compare] [--report PATH] [--json]`."""
    from qa.embed import MiniLMEmbedder

    if args.questions:
        raise QAError("--questions and --benchmark are two different runs; pass one of them")
    if not args.data:
        raise QAError(f"--benchmark {args.benchmark} needs --data FILE (the benchmark's JSON file)")
    bench = load(args.benchmark, args.data)
    index_dir = args.index or Path("indexes") / f"bench-{args.benchmark}"
    methods = METHODS if args.compare else ("qa",)
    embedder = MiniLMEmbedder(batch_size=settings.embed_batch_size)
    started = time.time()
    result = run_benchmark(bench, index_dir, embedder, settings, methods=methods, limit=args.limit, progress=not args.json)
    result["data"] = str(args.data)
    result["seconds"] = round(time.time() - started, 1)
    result["machine"] = machine_description()
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["settings"] = {k: str(v) for k, v in vars(settings).items()}
    if args.report:
        from qa.report import write_benchmark_report

        write_benchmark_report(args.report, result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(f"{bench.name}: {result['n_questions']} questions over {result['n_sentences']} sentences "
              f"({result['n_articles']} articles); {result['machine']}")
        print(format_table(result))
        if "abstention" in result:
            a = result["abstention"]
            print(f"abstention (article removed): ROC-AUC {a['roc_auc']:.3f}; at threshold {a['threshold']}: "
                  f"balanced accuracy {a['balanced_accuracy_at_threshold']:.3f}; best {a['best_threshold']} -> {a['balanced_accuracy_at_best']:.3f}")
        if args.report:
            print(f"report written to {args.report}")
    return 0


def machine_description() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
