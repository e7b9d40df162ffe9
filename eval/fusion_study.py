"""How the reranker's score is combined, and how deep it reads: fitted on the 26 SQuAD-train
articles the reader never trains on (qa.training.squad's validation articles, as
eval/abstention_study.py uses them), with article-level cross-validation (fit on 25 articles,
score on the 26th, for each article). Never on SQuAD-13, the benchmark the fusion is then
reported on (`--data` can still point at it, to compare).

    .venv/bin/python eval/fusion_study.py --report eval/reports/fusion.md [--write-fusion]

For every question it keeps the first stage's best 50 sentences (qa.retrieve), the
cross-encoder's logit for each (qa.rerank), and the fusion features (qa.rerank.features),
then scores, each on its own:

- the first stage alone, and the cross-encoder alone;
- cross-encoder + w x first stage, w picked on the training folds;
- a learned fusion: a conditional-logit (softmax over the candidates) model over all the
  features, including answer-type agreement, fitted on the training folds;
- how deep to rerank (10 to 50 candidates) with the chosen fusion;
- abstention: the same question with its article excluded; ROC-AUC of evidence-strength
  variants, with and without the reranker's logit.

`--write-fusion` stores the fusion chosen here, fitted on all 13 articles, in
qa/models/reranker/reranker.json; the report says which one and why. The cache of
logits lives in indexes/bench-squad/ and is keyed on the reranker's sha256.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.answer import evidence_strength  # noqa: E402
from qa.articles import ReadReport  # noqa: E402
from qa.build import build_index  # noqa: E402
from qa.embed import MiniLMEmbedder  # noqa: E402
from qa.evaluation.benchmarks import load  # noqa: E402
from qa.evaluation.reports import machine_description  # noqa: E402
from qa.index import load_index  # noqa: E402
from qa.metrics import mrr, recall_at, roc_auc  # noqa: E402
from qa.rerank import DEFAULT_WEIGHTS, FEATURES, Reranker, features, zscore  # noqa: E402
from qa.retrieve import Retriever  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.training.squad import heldout_squad  # noqa: E402

TRAIN = Path("../shared/data/squad-v1.1-train")
HELDOUT = Path("indexes/fusion-study/heldout.json")  # written from TRAIN on first use (ignored by git)
DEPTH = 50
OTHER = 30


def collect(data: Path, index_dir: Path, limit: int | None, settings: Settings) -> list[dict]:
    bench = load("squad", data)
    embedder = MiniLMEmbedder.configured(settings)
    build_index(ReadReport(articles=bench.articles), index_dir, embedder, split=bench.split)
    index = load_index(index_dir, expected_model_sha256=embedder.fingerprint())
    reranker = Reranker.configured(settings)
    cache = index_dir / f"fusion-cache-v3-{embedder.fingerprint()[:8]}-{reranker.fingerprint[:12]}{'-aligned' if reranker.align_names else ''}{'-judged' if reranker.judge_sentence else ''}-{limit or 'all'}.pkl"  # v3: names aligned (qa.text.in_passage_words)
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    retriever = Retriever(index, embedder, reranker=reranker)
    rows = []
    questions = bench.questions[:limit] if limit else bench.questions
    t0 = time.time()

    def candidates(q: str, hits: list) -> dict:
        reading = reranker.read(q, [retriever.passage(h.position) for h in hits], sentences=[h.sentence.text for h in hits])
        hits = retriever.with_coverage(q, hits)
        feats = features(q, np.array([h.score for h in hits]), [h.signals for h in hits], [h.sentence.text for h in hits], reading.logits, reading.answer)
        return {
            "feats": feats,
            "first": np.array([h.score for h in hits]),
            "signals": [dict(h.signals) for h in hits],
            "texts": [h.sentence.text for h in hits],
        }

    for n, q in enumerate(questions, 1):
        qvec = embedder.encode([q.question])[0]
        hits = retriever.first_stage(q.question, DEPTH, qvec)
        row = candidates(q.question, hits)
        row.update(article=q.article_id, question=q.question, gold=np.array([(h.sentence.article_id, h.sentence.index) in q.gold for h in hits]))
        wide = retriever.first_stage(q.question, 80, qvec)
        row["other"] = candidates(q.question, [h for h in wide if h.sentence.article_id != q.article_id][:OTHER])
        rows.append(row)
        if n % 500 == 0:
            print(f"{n}/{len(questions)} questions, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    cache.write_bytes(pickle.dumps(rows))
    return rows


def sub(feats: dict, d: int) -> dict:
    """Features of the first d candidates, with the standardised ones recomputed over them."""
    out = {k: v[:d] for k, v in feats.items()}
    for k in ("first_stage", "bm25", "dense", "bm25_context", "dense_context"):
        out[k] = zscore(feats[k + "_raw"][:d]) if k + "_raw" in feats else out[k]
    return out


def prepare(rows: list[dict]) -> None:
    """Keeps the raw first-stage signals so that a shallower depth restandardises them."""
    for r in rows:
        for part in (r, r["other"]):
            f = part["feats"]
            f["first_stage_raw"] = part["first"]
            for k in ("bm25", "dense", "bm25_context", "dense_context"):
                f[k + "_raw"] = np.array([s.get(k, 0.0) for s in part["signals"]])


def read_depth(row: dict, depth: int, deeper: int, below: float) -> int:
    """How many candidates the product reads for this question (qa.retrieve.Retriever.rerank):
    `depth`, and `deeper` more when none of the first `depth` likely answers."""
    return depth + deeper if deeper and float(row["feats"]["answer_prob"][:depth].max()) < below else depth


def ranks(rows: list[dict], weights: dict | None, depth: int, deeper: int = 0, below: float = 0.0) -> np.ndarray:
    """1-based rank of the first gold sentence per question (0 when not in the top 50)."""
    out = np.zeros(len(rows), dtype=int)
    for i, r in enumerate(rows):
        gold = r["gold"]
        if weights is None:
            order = np.arange(len(gold))
        else:
            depth_i = read_depth(r, depth, deeper, below)
            f = sub(r["feats"], depth_i)
            score = sum(w * f[k] for k, w in weights.items() if w)
            order = np.concatenate([np.argsort(-score, kind="stable"), np.arange(depth_i, len(gold))])
        hit = np.nonzero(gold[order])[0]
        out[i] = hit[0] + 1 if len(hit) else 0
    return out


def metrics(rk: np.ndarray) -> dict:
    ranks = [int(r) if r > 0 else None for r in rk]
    out = {f"recall@{k}": recall_at(ranks, k) for k in (1, 3, 5, 10)}
    out["mrr@10"] = mrr(ranks, 10)
    return out


def fit_logit(rows: list[dict], names: list[str], depth: int, l2: float = 0.01) -> dict:
    """Conditional logit over the candidates: maximise log p(gold) with a small L2 penalty."""
    from scipy.optimize import minimize

    data = []
    for r in rows:
        g = r["gold"][:depth]
        if g.any():
            f = sub(r["feats"], depth)
            data.append((np.stack([f[k] for k in names], axis=1), g))

    if not data:
        return dict(DEFAULT_WEIGHTS)

    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for x, g in data:
            s = x @ w
            m = s.max()
            p = np.exp(s - m)
            z = p.sum()
            p /= z
            total -= np.log(p[g].sum() + 1e-12)
            pg = p * g / max(p[g].sum(), 1e-12)
            grad -= x.T @ (pg - p)
        return total / len(data) + l2 * (w @ w), grad / len(data) + 2 * l2 * w

    w0 = np.array([1.0 if k in ("rerank", "first_stage") else 0.0 for k in names])
    res = minimize(loss, w0, jac=True, method="L-BFGS-B")
    return {k: round(float(v), 4) for k, v in zip(names, res.x)}


def fit_weight(rows: list[dict], depth: int, grid=(0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)) -> dict:
    best = max(grid, key=lambda w: metrics(ranks(rows, {"rerank": 1.0, "first_stage": w}, depth))["recall@1"])
    return {"rerank": 1.0, "first_stage": best}


def cross_validate(rows: list[dict], fit, depth: int) -> tuple[dict, list]:
    """Leave one article out: fit on the others, rank that article's questions."""
    articles = sorted({r["article"] for r in rows})
    rk = np.zeros(len(rows), dtype=int)
    chosen = []
    for a in articles:
        train = [r for r in rows if r["article"] != a]
        test_ids = [i for i, r in enumerate(rows) if r["article"] == a]
        w = fit(train)
        chosen.append(w)
        rk[test_ids] = ranks([rows[i] for i in test_ids], w, depth)
    return metrics(rk), chosen


def strengths(rows: list[dict], weights: dict, depth: int, rerank_weight: float, coverage_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Evidence strength of the answerable and the article-removed version of each question."""
    from qa.retrieve import Hit

    def one(part: dict, d: int) -> float:
        f = sub(part["feats"], d)
        score = sum(w * f[k] for k, w in weights.items() if w)
        top = np.argsort(-score, kind="stable")[:3]
        hits = [Hit(None, 0.0, 0, {**part["signals"][i], "rerank": float(part["feats"]["rerank"][i])}) for i in top]
        return evidence_strength(hits, coverage_weight, rerank_weight)

    pos = np.array([one(r, depth) for r in rows])
    neg = np.array([one(r["other"], min(depth, OTHER)) for r in rows])
    return pos, neg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, help=f"SQuAD v1.1 JSON to fit on (default: held-out SQuAD train, written to {HELDOUT})")
    ap.add_argument("--index", type=Path, default=Path("indexes/fusion-study/index"))
    ap.add_argument("--limit", type=int)
    ap.add_argument("--report", type=Path)
    ap.add_argument("--write-fusion", action="store_true")
    args = ap.parse_args()
    started = time.time()
    settings = Settings.from_env()
    if args.data is None:
        args.data = HELDOUT if HELDOUT.is_file() else heldout_squad(TRAIN, HELDOUT)
    rows = collect(args.data, args.index, args.limit, settings)
    n_articles = len({r["article"] for r in rows})
    prepare(rows)
    depth = settings.rerank_depth
    all_feats = list(FEATURES)
    results: dict[str, dict] = {}
    results["first stage alone (hybrid + context)"] = metrics(ranks(rows, None, depth))
    results["cross-encoder alone"] = metrics(ranks(rows, {"rerank": 1.0}, depth))
    results["cross-encoder + 1.0 x first stage (untuned)"] = metrics(ranks(rows, DEFAULT_WEIGHTS, depth))
    simple_cv, simple_w = cross_validate(rows, lambda tr: fit_weight(tr, depth), depth)
    results["cross-encoder + w x first stage, w by CV"] = simple_cv
    two = ["rerank", "first_stage", "answer_type"]
    at_cv, at_w = cross_validate(rows, lambda tr: fit_logit(tr, two, depth), depth)
    results["learned: cross-encoder, first stage, answer type (CV)"] = at_cv
    reader = ["rerank", "first_stage", "answer_type", "answer_prob"]
    rd_cv, rd_w = cross_validate(rows, lambda tr: fit_logit(tr, reader, depth), depth)
    results["learned: cross-encoder, first stage, answer type, answer probability (CV)"] = rd_cv
    full_cv, full_w = cross_validate(rows, lambda tr: fit_logit(tr, all_feats, depth), depth)
    results["learned: all features (CV)"] = full_cv
    candidates = {"simple": (simple_cv, fit_weight(rows, depth)), "answer_type": (at_cv, fit_logit(rows, two, depth)),
                  "reader": (rd_cv, fit_logit(rows, reader, depth)), "all": (full_cv, fit_logit(rows, all_feats, depth))}
    name, (cv, chosen) = max(candidates.items(), key=lambda kv: (round(kv[1][0]["recall@1"], 3), -len(kv[1][1])))
    results[f"best fusion ({name}), fitted on all {n_articles} (in-sample)"] = metrics(ranks(rows, chosen, depth))
    card = json.loads((settings.reranker_dir / "reranker.json").read_text(encoding="utf-8"))
    shipped = card.get("fusion", DEFAULT_WEIGHTS)
    results[f"the fusion in the card now {json.dumps(shipped)}"] = metrics(ranks(rows, shipped, depth))
    depths = {str(d): metrics(ranks(rows, chosen, d)) for d in (4, 6, 8, 10, 12, 15, 20, 30, 50)}
    # The product's adaptive depth: 6, and 4 more when the reader finds none of them likely to answer.
    for below in (0.2, 0.3, 0.5):
        extended = float(np.mean([read_depth(r, depth, settings.deeper, below) > depth for r in rows]))
        key = f"{depth}, +{settings.deeper} when best answer probability < {below} ({extended:.0%} of questions)"
        depths[key] = metrics(ranks(rows, chosen, depth, settings.deeper, below))
    abst = {}
    for rw in (0.0, 0.005, 0.01, 0.02, 0.03, 0.05):
        pos, neg = strengths(rows, chosen, depth, rw, settings.coverage_weight)
        abst[rw] = {"roc_auc": roc_auc(pos, neg), "pos": pos, "neg": neg}
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_description(),
        "seconds": round(time.time() - started, 1),
        "n_questions": len(rows),
        "depth": depth,
        "results": results,
        "cv_weights": {"simple": simple_w, "answer_type": at_w, "reader": rd_w, "all": full_w},
        "chosen": {"name": name, "weights": chosen},
        "depths": depths,
        "abstention_auc": {str(k): v["roc_auc"] for k, v in abst.items()},
    }
    lines = [
        f"# Reranker fusion study ({args.data}, article-level cross-validation)",
        "",
        f"Generated by `.venv/bin/python eval/fusion_study.py --report {args.report}` on {out['date']}.",
        f"Machine: {out['machine']}. {len(rows)} questions of {n_articles} articles; the reranker reads the first stage's best {depth}.",
        f"CV: for each of the {n_articles} articles, weights fitted on the other {n_articles - 1} and that article's questions ranked with them.",
        "",
        "| ranking | recall@1 | recall@3 | recall@5 | recall@10 | mrr@10 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k, m in results.items():
        lines.append(f"| {k} | " + " | ".join(f"{m[x]:.3f}" for x in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10")) + " |")
    lines += ["", f"Best: **{name}**, weights `{json.dumps(chosen)}` (the best CV recall@1; the fewest features on a tie); "
              "`--write-fusion` puts it in the card.", ""]
    lines += ["## How deep to rerank (best fusion)", "", "| depth | recall@1 | recall@5 | recall@10 |", "|---:|---:|---:|---:|"]
    for d, m in depths.items():
        lines.append(f"| {d} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f} |")
    lines += ["", "## Abstention: adding the cross-encoder's logit to evidence strength", "",
              "strength = max over the top 3 of cosine + 0.7 x coverage + r x logit; article-removed pairs.", "",
              "| r | ROC-AUC |", "|---:|---:|"]
    for rw, v in abst.items():
        lines.append(f"| {rw} | {v['roc_auc']:.4f} |")
    lines += ["", "Fold weights (CV):", "", "```", json.dumps(out["cv_weights"], indent=1)[:4000], "```", ""]
    text = "\n".join(lines)
    print(text)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
        args.report.with_suffix(".json").write_text(json.dumps(out, indent=1, default=float) + "\n", encoding="utf-8")
    if args.write_fusion:
        card_path = settings.reranker_dir / "reranker.json"
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card["fusion"] = chosen
        card["fusion_note"] = f"chosen by eval/fusion_study.py ({name}) on {args.data} ({n_articles} articles, {len(rows)} questions); CV recall@1 {cv['recall@1']:.3f}"
        card_path.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
        print(f"fusion written to {card_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
