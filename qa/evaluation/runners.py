"""Public benchmarks run: every method answers every question in one warm process.

A method turns a question into an `Outcome` (ranked sentence keys, the reply, what it
cited, how long it took); a `Tally` per method turns outcomes into the report's numbers
(qa.metrics). Methods: BM25, dense and RRF alone, the naive llama-index baseline, qa's
first stage alone, and qa (first stage + reranker + the cited reply). For SQuAD, qa also
asks each question with its article removed (the abstention check); for every question it
records the short answer shown and the misses the report lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.evaluation.abstention import TwinMaker, abstention_check, answer_prob, on_topic_check
from qa.evaluation.benchmarks import Benchmark, BenchQuestion
from qa.evaluation.short_answers import ShortAnswers, span_metrics
from qa.metrics import mrr, normalize, percentile, recall_at, roc_auc

METHODS = ("bm25", "dense", "rrf", "naive-llama-index", "hybrid", "qa")
METHOD_LABELS = {
    "bm25": "BM25 alone",
    "dense": "MiniLM dense alone",
    "rrf": "RRF(BM25, dense)",
    "naive-llama-index": "naive llama-index (top-1 chunk)",
    "hybrid": "qa first stage alone (hybrid + context, no reranker)",
    "qa": "qa (hybrid + context + reranker, cited reply)",
}
Key = tuple[str, int]  # (article_id, sentence_index)


@dataclass
class Outcome:
    """What one method did with one question."""

    found: list[bool]  # per ranked result (top 10): is it gold?
    reply: str
    abstained: bool
    cited: list[str]  # normalised texts of what the reply cites
    cited_is_gold: list[bool]  # per citation
    cited_gold: list[bool]  # per gold sentence: is it cited?
    in_top: Callable[[int], bool]  # are all gold sentences in the top k?
    ms: float
    short_answer: str | None = None


@dataclass
class Tally:
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

    def add(self, o: Outcome, answers: list[str], q: BenchQuestion, benchmark: str) -> None:
        self.latency.append(o.ms)
        self.ranks.append(next((i + 1 for i, f in enumerate(o.found) if f), None))
        norm_reply = normalize(o.reply)
        self.correct.append(not o.abstained and any(a in norm_reply for a in answers if a))
        self.words.append(0 if o.abstained else len(o.reply.split()))
        self.cited.append(len(o.cited))
        self.abstained.append(o.abstained)
        if o.cited:
            if benchmark == "squad":
                self.precision.append(sum(any(a in c for a in answers if a) for c in o.cited) / len(o.cited))
            else:
                self.precision.append(sum(o.cited_is_gold) / len(o.cited_is_gold))
        if benchmark == "hotpot" and q.gold:
            self.recall.append(sum(o.cited_gold) / len(o.cited_gold))
            self.both5.append(o.in_top(5))
            self.both10.append(o.in_top(10))

    def metrics(self) -> dict:
        def mean(xs: list) -> Any:
            return round(sum(map(float, xs)) / len(xs), 4) if xs else None

        out = {f"recall@{k}": round(recall_at(self.ranks, k), 4) for k in (1, 3, 5, 10)}
        out["mrr@10"] = round(mrr(self.ranks, 10), 4)
        if self.both5:
            out["both@5"], out["both@10"] = mean(self.both5), mean(self.both10)
        out.update(
            {
                "answer_accuracy": mean(self.correct),
                "citation_precision": mean(self.precision),
                "citation_recall": mean(self.recall),
                "words_read": round(sum(self.words) / len(self.ranks), 1),
                "mean_citations": mean(self.cited),
                "false_abstention_rate": mean(self.abstained),
                "latency_p50_ms": round(percentile(self.latency, 50), 2),
                "latency_p95_ms": round(percentile(self.latency, 95), 2),
            }
        )
        return out


# ----------------------------------------------------------------------------- methods


def _ranked(hits: list, q: BenchQuestion, cited_keys: list[Key], text_of: dict[Key, str], reply: str, abstained: bool, ms: float, short: str | None = None) -> Outcome:
    keys = [(h.sentence.article_id, h.sentence.index) for h in hits]
    return Outcome(
        found=[k in q.gold for k in keys],
        reply=reply,
        abstained=abstained,
        cited=[normalize(text_of[k]) for k in cited_keys],
        cited_is_gold=[k in q.gold for k in cited_keys],
        cited_gold=[g in cited_keys for g in q.gold],
        in_top=lambda k: all(g in keys[:k] for g in q.gold),
        ms=ms,
        short_answer=short,
    )


class RetrieverMethod:
    """A retriever alone: its top sentence is the reply."""

    def __init__(self, retriever, text_of: dict[Key, str]) -> None:
        self.retriever, self.text_of = retriever, text_of

    def run(self, q: BenchQuestion, qvec: np.ndarray, embed_ms: float) -> Outcome:
        t = time.perf_counter()
        dense = self.retriever.mode != "bm25"
        hits = self.retriever.search(q.question, k=10, query_vector=qvec if dense else None)
        ms = (time.perf_counter() - t) * 1000 + (embed_ms if dense else 0.0)
        keys = [(h.sentence.article_id, h.sentence.index) for h in hits]
        return _ranked(hits, q, keys[:1], self.text_of, hits[0].sentence.text if hits else "", False, ms)


class QaMethod:
    """The product: first stage, reranker, the composed reply with its abstention; for
    SQuAD also the abstention check (the same question with its article removed)."""

    def __init__(self, retriever, articles: dict, settings, text_of: dict[Key, str], abstention_check: bool) -> None:
        self.retriever, self.articles, self.settings, self.text_of = retriever, articles, settings, text_of
        self.check = abstention_check
        self.strengths: list[tuple[float, float]] = []  # evidence strength: article in, article removed
        self.scores: list[tuple[float, float]] = []  # the reply's abstention score (qa.answer.abstention_score): the same
        self.misses: list[dict] = []
        # Wrong replies whose first quote is the gold sentence's neighbour: with the units of
        # qa.units.with_units (the product) and without them (before).
        self.neighbour = {"with units": [0, 0], "without units": [0, 0]}  # [wrong, neighbour of gold]
        # Questions whose first-stage top sentence was gold, and those of them whose reply does
        # not quote it: what the reranker (and the reply's choices) took away.
        self.overruled = [0, 0]
        # On-topic unanswerable twins (qa.training.perturb: a key name or number swapped for
        # another of the same article): evidence strength, the reader's answer probability
        # and the reply's abstention, for the question and for its twin.
        self.twins: list[dict] = []
        self._twin_maker = TwinMaker(retriever.index, articles) if abstention_check else None
        self.removed_probs: list[tuple[float, float]] = []  # answer probability: article in, article removed
        self.spans: list[dict] = []  # per question: the short answer shown and the candidates it was chosen from
        self._rows: dict[Key, int] | None = None  # index row of each sentence, made when first needed

    def _spans(self, q: BenchQuestion, ans, hits: list) -> None:
        """What the short answer could have been: the reader's span in the best quoted sentence
        (and its probability), the answer-type span, and the reader's span in the gold sentence."""
        from qa.answer_type import short_answer

        cited = {(c.article_id, c.sentence_index) for c in ans.citations}
        top = next((h for h in hits if (h.sentence.article_id, h.sentence.index) in cited), None)
        s = top.signals if top else {}
        reader = top.sentence.text[int(s["span_start"]) : int(s["span_end"])] if top and "span_start" in s else ""
        record = {"answers": q.answers, "shown": ans.short_answer or "", "reader": reader, "p": s.get("span_prob", 0.0),
                  "type": (short_answer(q.question, top.sentence.text) or "") if top else "", "gold_given": None}
        gold = next((g for g in q.gold if g in self.text_of), None)
        reranker = self.retriever.reranker
        if gold is not None and reranker is not None and reranker.reads_answers:
            sentence = self.text_of[gold]
            if self._rows is None:
                self._rows = {(x.article_id, x.index): i for i, x in enumerate(self.retriever.index.sentences)}
            passage = self.retriever.passage(self._rows[gold])
            span = reranker.read(q.question, [passage]).spans[0]
            offset = len(passage) - len(sentence)
            record["gold_given"] = sentence[max(0, span[0] - offset) : max(0, span[1] - offset)] if span else ""
        self.spans.append(record)

    def _neighbours(self, name: str, ans, q: BenchQuestion) -> None:
        reply = normalize(ans.text)
        if ans.abstained or any(normalize(a) in reply for a in q.answers if normalize(a)):
            return
        tally = self.neighbour[name]
        tally[0] += 1
        first = (ans.citations[0].article_id, ans.citations[0].sentence_index)
        tally[1] += any(g[0] == first[0] and abs(g[1] - first[1]) == 1 for g in q.gold)

    def _twin(self, q: BenchQuestion, hits: list, ans) -> None:
        """Asks the question's on-topic unanswerable twin, when one can be made."""
        from qa.answer import compose, evidence_strength

        r = self.retriever
        twin = self._twin_maker.make(q.question, q.id, q.gold) if self._twin_maker else None
        if twin is None:
            return
        twin_hits = r.search(twin, k=10, query_vector=r.embed_query(twin))
        twin_hits = r.with_coverage(twin, twin_hits[:3]) + twin_hits[3:]
        twin_ans = compose(twin, twin, twin_hits, self.articles, self.settings, sentences=r.index.sentences)
        w = self.settings.coverage_weight
        self.twins.append({
            "question": q.question, "twin": twin,
            "strength": (evidence_strength(hits, w), evidence_strength(twin_hits, w)),
            "score": (self._score(q.question, hits), self._score(twin, twin_hits)),
            "answer_prob": (answer_prob(hits), answer_prob(twin_hits)),
            "abstained": (ans.abstained, twin_ans.abstained),
        })

    def _score(self, question: str, hits: list) -> float:
        """The score the reply abstains by (0 when no hit may count as evidence)."""
        from qa.answer import abstention_score, admissible

        evidence = admissible(question, hits, self.articles)
        return abstention_score(evidence, self.settings) if evidence else 0.0

    def run(self, q: BenchQuestion, qvec: np.ndarray, embed_ms: float) -> Outcome:
        from qa.answer import compose, evidence_strength

        r = self.retriever
        t = time.perf_counter()
        hits = r.search(q.question, k=10, query_vector=qvec)
        hits = r.with_coverage(q.question, hits[:3]) + hits[3:]
        ans = compose(q.question, q.question, hits, self.articles, self.settings, sentences=r.index.sentences)
        ms = (time.perf_counter() - t) * 1000 + embed_ms
        self._neighbours("with units", ans, q)
        self._spans(q, ans, hits)
        first = r.first_stage(q.question, 1, qvec)
        if first and (first[0].sentence.article_id, first[0].sentence.index) in q.gold:
            self.overruled[0] += 1
            self.overruled[1] += (first[0].sentence.article_id, first[0].sentence.index) not in {(c.article_id, c.sentence_index) for c in ans.citations}
        self._neighbours("without units", compose(q.question, q.question, hits, self.articles, self.settings), q)
        if self.check:  # not timed
            wide = r.first_stage(q.question, k=80, query_vector=qvec)
            other = [h for h in wide if h.sentence.article_id != q.article_id]
            other = r.with_coverage(q.question, r.rerank(q.question, other, 3) if r.reranker else other[:3])
            w = self.settings.coverage_weight
            self.strengths.append((evidence_strength(hits, w), evidence_strength(other, w)))
            self.scores.append((self._score(q.question, hits), self._score(q.question, other)))
            self.removed_probs.append((answer_prob(hits), answer_prob(other)))
            self._twin(q, hits, ans)
        cited = [(c.article_id, c.sentence_index) for c in ans.citations]
        out = _ranked(hits, q, cited, self.text_of, ans.text, ans.abstained, ms, ans.short_answer)
        if len(self.misses) < 200 and not (out.found and out.found[0]):
            gold = next((self.text_of[g] for g in q.gold if g in self.text_of), "")
            self.misses.append({"question": q.question, "answers": q.answers, "gold": gold, "top": hits[0].sentence.text if hits else ""})
        return out


class NaiveMethod:
    """llama-index's default chunks and vector store; the top chunk is the reply."""

    def __init__(self, naive, text_of: dict[Key, str]) -> None:
        self.naive, self.text_of = naive, text_of

    def run(self, q: BenchQuestion, qvec: np.ndarray, embed_ms: float) -> Outcome:
        t = time.perf_counter()
        chunks = self.naive.search(q.question, k=10)
        ms = (time.perf_counter() - t) * 1000  # includes its own query embedding
        gold_texts = [normalize(self.text_of[g]) for g in q.gold if g in self.text_of]
        norm_chunks = [normalize(c.text) for c in chunks]
        return Outcome(
            found=[any(g in c for g in gold_texts) for c in norm_chunks],
            reply=chunks[0].text if chunks else "",
            abstained=False,
            cited=norm_chunks[:1],
            cited_is_gold=[any(g in c for g in gold_texts) for c in norm_chunks[:1]],
            cited_gold=[any(g in c for c in norm_chunks[:1]) for g in gold_texts],
            in_top=lambda k: all(any(g in c for c in norm_chunks[:k]) for g in gold_texts),
            ms=ms,
        )


def make_methods(names: tuple[str, ...], bench: Benchmark, index, embedder, settings) -> dict[str, Any]:
    """The runnable methods, by name, over one loaded benchmark index."""
    from qa.evaluation.baselines import NaiveLlamaIndex
    from qa.rerank import Reranker
    from qa.retrieve import Fusion, FusionWeights, Retriever

    text_of = {(s.article_id, s.index): s.text for s in index.sentences}
    common = {"mode": settings.retriever, "candidates": settings.candidates}
    make: dict[str, Callable[[], Any]] = {
        "bm25": lambda: RetrieverMethod(Retriever(index, embedder, mode="bm25"), text_of),
        "dense": lambda: RetrieverMethod(Retriever(index, embedder, mode="dense"), text_of),
        "rrf": lambda: RetrieverMethod(Retriever(index, embedder, mode="hybrid", weights=FusionWeights(1.0, 1.0, 0.0, 0.0, method=Fusion.RRF)), text_of),
        "hybrid": lambda: RetrieverMethod(Retriever(index, embedder, **common), text_of),
        "qa": lambda: QaMethod(
            Retriever.configured(index, embedder, settings, Reranker.configured(settings) if settings.rerank_depth > 0 else None),
            index.articles, settings, text_of, abstention_check=bench.name == "squad",
        ),
        "naive-llama-index": lambda: NaiveMethod(NaiveLlamaIndex(bench.articles, embedder), text_of),
    }
    return {m: make[m]() for m in names}


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

    from qa.articles import ReadReport
    from qa.build import build_index
    from qa.index import load_index

    build = build_index(ReadReport(articles=bench.articles), index_dir, embedder, split=bench.split)
    index = load_index(index_dir, expected_model_sha256=embedder.fingerprint())
    runners = make_methods(methods, bench, index, embedder, settings)
    questions = bench.questions[:limit] if limit else bench.questions
    tallies = {m: Tally() for m in methods}
    short = ShortAnswers()
    for q in tqdm(questions, desc=bench.name, unit="q", disable=not progress, leave=False, mininterval=2):
        t0 = time.perf_counter()
        qvec = embedder.encode([q.question])[0]
        embed_ms = (time.perf_counter() - t0) * 1000
        answers = [normalize(a) for a in q.answers]
        for m in methods:
            outcome = runners[m].run(q, qvec, embed_ms)
            tallies[m].add(outcome, answers, q, bench.name)
            if m == "qa":
                short.add(q.question, outcome.short_answer, answers)
    qa_runner = runners.get("qa")
    result = {
        "benchmark": bench.name,
        "n_questions": len(questions),
        "n_articles": len(bench.articles),
        "n_sentences": len(index),
        "n_chunks_naive": runners["naive-llama-index"].naive.n_chunks if "naive-llama-index" in runners else None,
        "build_seconds": round(build.seconds, 1),
        "methods": {m: tallies[m].metrics() for m in methods},
        "misses": qa_runner.misses[:10] if qa_runner else [],
    }
    if qa_runner:
        result["short_answers"] = short.metrics()
        if qa_runner.spans:
            result["span_answers"] = span_metrics(qa_runner.spans, settings.span_min)
        if qa_runner.strengths:
            result["abstention"] = abstention_check(qa_runner.scores, settings.abstain_below)
            strengths = qa_runner.strengths
            result["abstention"]["roc_auc_strength"] = round(roc_auc([p for p, _ in strengths], [n for _, n in strengths]), 4)
            result["abstention"]["answer_prob_weight"] = settings.answer_prob_weight
            probs = qa_runner.removed_probs
            result["abstention"]["roc_auc_answer_prob"] = round(roc_auc([p for p, _ in probs], [n for _, n in probs]), 4)
        if qa_runner.twins:
            result["abstention_on_topic"] = on_topic_check(qa_runner.twins)
        right, dropped = qa_runner.overruled
        result["first_stage_overruled"] = {"first_stage_right": right, "not_quoted": dropped, "share": round(dropped / right, 4) if right else 0.0}
        result["neighbour_misses"] = {
            name: {"wrong": w, "neighbour_of_gold": n, "share": round(n / w, 4) if w else 0.0} for name, (w, n) in qa_runner.neighbour.items()
        }
    return result
