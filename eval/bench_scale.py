"""How cost grows with the collection: 10k, 100k and 1M sentences.

    .venv/bin/python eval/bench_scale.py [--sizes 10000,100000,1000000] [--report eval/reports/bench-scale.md]

- Real text: sentences of SQuAD v1.1 *train* paragraphs (../shared/data, ~90k sentences),
  repeated to reach a size where there are not enough.
- Real vectors: the 10k tier is a real `qa build` (MiniLM embeddings of ~10k real sentences).
  Larger tiers use SYNTHETIC vectors for the vector-search part only: the real vectors plus
  Gaussian noise (sigma 0.02 per dimension, renormalised), so that clusters look like real ones.
- Queries: 200 real SQuAD-train questions, embedded by MiniLM.
Per tier: the FAISS index qa builds at that size (`qa.backends.DenseIndex.build`: exact up to
200k, IVF beyond), its build time, bytes, memory growth, single-query p50/p95 and recall@10
against exact search; exact search's own latency; BM25 (the llama-index BM25Retriever path
qa uses) build time and query p50/p95. Then the incremental path: adding one article to the
10k-sentence index.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.articles import ReadReport, make_article  # noqa: E402
from qa.backends import EXACT_UP_TO, DenseIndex, LexicalIndex  # noqa: E402
from qa.build import build_index  # noqa: E402
from qa.embed import MiniLMEmbedder  # noqa: E402
from qa.evaluation.reports import emit_benchmark, machine_description  # noqa: E402
from qa.index import load_index  # noqa: E402
from qa.metrics import percentile  # noqa: E402
from qa.sentences import Sentence  # noqa: E402

TRAIN = ROOT.parent / "shared" / "data" / "squad-v1.1-train"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed(fn, repeat: list) -> list[float]:
    out = []
    for x in repeat:
        t0 = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def load_train(n_articles: int) -> tuple[list, list[str]]:
    """Paragraphs as articles (with the dataset's sentence spans) and every train sentence."""
    articles, all_sentences = [], []
    with open(TRAIN / "paragraphs.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            sents = [rec["context"][s:e].strip() for s, e in rec["sentences"] if rec["context"][s:e].strip()]
            all_sentences.extend(sents)
            if i < n_articles:
                articles.append((rec["pid"], rec["title"], sents))
    return articles, all_sentences


def questions(n: int) -> list[str]:
    out = []
    with open(TRAIN / "questions.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 400 == 0:
                out.append(json.loads(line)["question"])
            if len(out) >= n:
                break
    return out


def presplit(articles: list) -> tuple[list, dict]:
    arts, split = [], {}
    for pid, title, sents in articles:
        a = make_article(str(pid), " ".join(sents), title, "SQuAD train", "")
        pos, spans = 0, []
        for s in sents:
            start = a.text.index(s, pos)
            spans.append(Sentence(a.id, len(spans), 0, start, start + len(s), s))
            pos = start + len(s)
        arts.append(a)
        split[a.id] = spans
    return arts, split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    embedder = MiniLMEmbedder()
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 1. a real 10k-sentence qa index (real text, real vectors)
        paragraphs, all_sentences = load_train(3000)
        arts, split = [], {}
        count = 0
        for p in paragraphs:
            if count >= 10_000:
                break
            arts.append(p)
            count += len(p[2])
        articles, split = presplit(arts)
        embedder.encode(["warm up"])
        t0 = time.perf_counter()
        base = build_index(ReadReport(articles=articles), tmp / "idx10k", embedder, split=lambda a: split[a.id])
        notes.append(f"real 10k build: {base.sentences} sentences in {time.perf_counter() - t0:.1f} s "
                     f"({base.sentences_per_second:.0f} sentences/s embedding)")
        real = np.asarray(load_index(tmp / "idx10k").vectors, dtype=np.float32)
        qs = embedder.encode(questions(200))

        # 2. the incremental path: one new article into the 10k index
        (pid, title, sents) = paragraphs[len(arts)]
        extra, extra_split = presplit([(pid, title, sents)])
        split.update(extra_split)
        t0 = time.perf_counter()
        inc = build_index(ReadReport(articles=articles + extra), tmp / "idx10k", embedder, split=lambda a: split[a.id])
        add_one = time.perf_counter() - t0
        notes.append(f"add one article ({len(sents)} sentences) to the {base.sentences}-sentence index: {add_one:.1f} s "
                     f"(embedded {inc.embedded}, reused {inc.reused} articles)")

        rng = np.random.default_rng(0)
        for n in sizes:
            if n <= len(real):
                vecs, kind = real[:n], "real"
            else:
                vecs = real[np.arange(n) % len(real)] + rng.normal(0, 0.02, size=(n, real.shape[1])).astype(np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                kind = "synthetic"
            import faiss

            before = rss_mb()
            t0 = time.perf_counter()
            index = DenseIndex.build(vecs).faiss
            build_s = time.perf_counter() - t0
            grew = rss_mb() - before
            size = len(faiss.serialize_index(index))
            lat = timed(lambda q, ix=index: ix.search(q[None, :], 10), list(qs))
            exact = faiss.IndexFlatIP(vecs.shape[1])
            exact.add(vecs)
            _, truth = exact.search(qs, 10)
            _, got = index.search(qs, 10)
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)]))
            exact_lat = timed(lambda q, ex=exact: ex.search(q[None, :], 10), list(qs[:50]))
            del exact
            # BM25 over real sentences (repeated to reach n), through the product's adapter
            texts = [all_sentences[i % len(all_sentences)] for i in range(n)]
            t0 = time.perf_counter()
            bm25 = LexicalIndex.build(texts)
            bm25_build = time.perf_counter() - t0
            bm25_lat = timed(bm25.scores, questions(200)[:100])
            rows.append({
                "sentences": n, "vectors": kind, "faiss": type(index).__name__ + (f" nlist={index.nlist} nprobe={index.nprobe}" if hasattr(index, "nprobe") else ""),
                "build_s": round(build_s, 1), "index_mb": round(size / 2**20, 1), "rss_growth_mb": round(grew, 0),
                "p50_ms": round(percentile(lat, 50), 2), "p95_ms": round(percentile(lat, 95), 2), "recall10": round(recall, 3),
                "exact_p50_ms": round(percentile(exact_lat, 50), 1), "bm25_build_s": round(bm25_build, 1),
                "bm25_p50_ms": round(percentile(bm25_lat, 50), 1), "bm25_p95_ms": round(percentile(bm25_lat, 95), 1),
            })
            print(rows[-1], flush=True)
            del index, bm25, vecs, texts

    lines = [
        f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"Exact search up to {EXACT_UP_TO:,} sentences, IVF beyond.",
        "",
        "| sentences | vectors | FAISS index | build s | index MB | memory growth MB | query p50 / p95 ms | recall@10 vs exact | exact p50 ms | BM25 build s | BM25 query p50 / p95 ms |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['sentences']:,} | {r['vectors']} | {r['faiss']} | {r['build_s']} | {r['index_mb']} | {r['rss_growth_mb']:.0f} | "
                     f"{r['p50_ms']} / {r['p95_ms']} | {r['recall10']} | {r['exact_p50_ms']} | {r['bm25_build_s']} | {r['bm25_p50_ms']} / {r['bm25_p95_ms']} |")
    lines += ["", *[f"- {n}" for n in notes]]
    emit_benchmark(lines, args.report, "Scale benchmark", "eval/bench_scale.py", note="See the script's docstring for what is real and what is synthetic.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
