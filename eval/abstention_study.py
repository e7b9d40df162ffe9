"""When the reply says "the articles don't say": the rule fitted on held-out SQuAD train,
never on SQuAD-13 (the benchmark it is then reported on).

    .venv/bin/python eval/abstention_study.py --report eval/reports/abstention.md

The 26 SQuAD-train articles the reader never trains on (qa.training.squad's validation
articles) are indexed as the product indexes articles. Every question is asked three ways:
as written (answerable), as its on-topic twin (qa.evaluation.abstention.TwinMaker: a key
name or number swapped, so the article no longer answers it) and with its article left out
of the search (off the collection). For each reply's admissible evidence
(qa.answer.admissible) it keeps evidence strength (cosine + coverage) and the reader's
answer probability, then scores families of rules:

- strength alone (the rule before this study: strength < 0.72);
- strength, or the reader's probability of the best evidence sentence below a threshold;
- strength + w x probability below a threshold.

The candidate it names is the rule that abstains most on twins and left-out articles (their
mean) without more false abstentions on the answerable questions than the rule as configured
now; it ships only if the project's sets agree (`eval/compare_readers.py --env`). The report
gives the whole frontier so a different trade-off can be read off it. A fourth family refits
the coverage weight too (cosine + c x coverage + w x p_top: the product's form), as a new
encoder moves cosines.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.answer import abstains, admissible, evidence_strength  # noqa: E402
from qa.evaluation.abstention import TwinMaker  # noqa: E402
from qa.evaluation.benchmarks import load_squad  # noqa: E402
from qa.evaluation.reports import machine_description  # noqa: E402
from qa.metrics import roc_auc  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.training.squad import heldout_squad  # noqa: E402

TRAIN = Path("../shared/data/squad-v1.1-train")
STRENGTH_ALONE = 0.72  # the rule before this study: evidence strength < 0.72
ROWS_FORMAT = 2  # what signals() keeps; part of the cache's name


def signals(query: str, hits: list, articles: dict, settings: Settings) -> dict:
    """What an abstention rule may look at, for the evidence the reply would weigh."""
    evidence = admissible(query, hits, articles)
    probs = [h.signals["answer_prob"] for h in evidence[:3] if "answer_prob" in h.signals]
    return {
        "empty": not evidence,
        "product": not evidence or abstains(evidence, settings),
        "strength": evidence_strength(evidence, settings.coverage_weight),
        "p_top": float(evidence[0].signals.get("answer_prob", 1.0)) if evidence else 0.0,
        "p_max": float(max(probs)) if probs else (1.0 if evidence else 0.0),
        # cosine and coverage of the top 3, so that the coverage weight can be refitted too
        "parts": [[float(h.signals.get("dense", 0.0)), float(h.signals.get("coverage", 0.0))] for h in evidence[:3]],
    }


def collect(data: Path, work: Path, limit: int, settings: Settings, embedder) -> list[dict]:
    from qa.articles import ReadReport
    from qa.build import build_index
    from qa.index import load_index
    from qa.rerank import Reranker
    from qa.retrieve import Retriever

    bench = load_squad(heldout_squad(data, work / "heldout.json"))
    build_index(ReadReport(articles=bench.articles), work / "index", embedder, split=bench.split)
    index = load_index(work / "index", expected_model_sha256=embedder.fingerprint())
    r = Retriever.configured(index, embedder, settings, Reranker.configured(settings))
    twins = TwinMaker(index, index.articles)
    questions = list(bench.questions)
    random.Random(13).shuffle(questions)
    rows = []
    started = time.time()
    for n, q in enumerate(questions[:limit], 1):
        qvec = r.embed_query(q.question)
        hits = r.search(q.question, k=10, query_vector=qvec)
        hits = r.with_coverage(q.question, hits[:3]) + hits[3:]
        wide = [h for h in r.first_stage(q.question, k=80, query_vector=qvec) if h.sentence.article_id != q.article_id]
        other = r.with_coverage(q.question, r.rerank(q.question, wide, 3))
        row = {"id": q.id, "question": q.question,
               "gold_first": bool(hits) and (hits[0].sentence.article_id, hits[0].sentence.index) in q.gold,
               "asked": signals(q.question, hits, index.articles, settings),
               "removed": signals(q.question, other, index.articles, settings)}
        twin = twins.make(q.question, q.id, q.gold)
        if twin is not None:
            t_hits = r.search(twin, k=10, query_vector=r.embed_query(twin))
            t_hits = r.with_coverage(twin, t_hits[:3]) + t_hits[3:]
            row["twin"], row["twin_signals"] = twin, signals(twin, t_hits, index.articles, settings)
        rows.append(row)
        if n % 100 == 0:
            print(f"{n}/{min(limit, len(questions))} questions, {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


# ----------------------------------------------------------------------------- rules


def rule_outcomes(rows: list[dict], decide) -> dict:
    """Abstention rates of one rule: false on answerable, on twins, on left-out articles."""
    asked = np.array([decide(r["asked"]) for r in rows])
    twin = np.array([decide(r["twin_signals"]) for r in rows if "twin_signals" in r])
    removed = np.array([decide(r["removed"]) for r in rows])
    return {"false": float(asked.mean()), "twins": float(twin.mean()), "removed": float(removed.mean()),
            "unanswerable": float((twin.mean() + removed.mean()) / 2)}


def families() -> list[tuple[str, dict, object]]:
    out: list[tuple[str, dict, object]] = []
    grid_s = [round(x, 2) for x in np.arange(0.40, 1.31, 0.02)]
    grid_p = [round(x, 3) for x in (0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7)]

    def strength_rule(t):
        return lambda s: s["empty"] or s["strength"] < t

    def or_rule(t, b, key):
        return lambda s: s["empty"] or s["strength"] < t or s[key] < b

    def linear_rule(t, w, key):
        return lambda s: s["empty"] or s["strength"] + w * s[key] < t

    def refit_rule(t, w, c):
        return lambda s: s["empty"] or max(d + c * v for d, v in s["parts"]) + w * s["p_top"] < t

    out += [("strength", {"abstain_below": t}, strength_rule(t)) for t in grid_s]
    # the product's form with the coverage weight free too: cosine + c x coverage + w x p_top
    out += [("cosine + c x coverage + w x p_top", {"below": t, "w": w, "c": c}, refit_rule(t, w, c))
            for c in (0.5, 0.7, 0.9, 1.1, 1.3) for w in (1.0, 1.5, 2.0, 3.0) for t in [round(x, 2) for x in np.arange(0.60, 1.80, 0.01)]]
    for key in ("p_top", "p_max"):
        out += [(f"strength or {key}", {"abstain_below": t, "prob_below": b, "prob": key}, or_rule(t, b, key)) for t in grid_s for b in grid_p]
        out += [(f"strength + w x {key}", {"below": t, "w": w, "prob": key}, linear_rule(t, w, key))
                for t in [round(x, 3) for x in np.arange(0.40, 3.51, 0.005)] for w in (0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)]
    return out


def study(rows: list[dict], settings: Settings) -> dict:
    today = rule_outcomes(rows, lambda s: s["empty"] or s["strength"] < STRENGTH_ALONE)
    shipped = rule_outcomes(rows, lambda s: s["product"])
    scored = [(name, params, rule_outcomes(rows, rule)) for name, params, rule in families()]
    budgets = {"false abstentions as now": shipped["false"] + 1e-9, "as strength alone": today["false"] + 1e-9, "0.05": 0.05, "0.10": 0.10, "0.15": 0.15}
    frontier = {}
    for label, budget in budgets.items():
        best = {}
        for name, params, o in scored:
            if o["false"] <= budget and (name not in best or o["unanswerable"] > best[name][1]["unanswerable"]):
                best[name] = (params, o)
        frontier[label] = {name: {"params": p, **{k: round(v, 4) for k, v in o.items()}} for name, (p, o) in best.items()}
    chosen_name, chosen = max(frontier["false abstentions as now"].items(), key=lambda kv: kv[1]["unanswerable"])
    pos = [r["asked"] for r in rows]
    twin_rows = [r for r in rows if "twin_signals" in r]
    auc = {}
    for key in ("strength", "p_top", "p_max"):
        auc[key] = {"twins": round(roc_auc([r["asked"][key] for r in twin_rows], [r["twin_signals"][key] for r in twin_rows]), 4),
                    "removed": round(roc_auc([p[key] for p in pos], [r["removed"][key] for r in rows]), 4)}
    return {"questions": len(rows), "twins": len(twin_rows), "before": {k: round(v, 4) for k, v in today.items()},
            "shipped": {k: round(v, 4) for k, v in shipped.items()},
            "roc_auc": auc, "frontier": frontier, "chosen": {"family": chosen_name, **chosen}}


def _shown(folder: Path) -> str:
    """The reader's folder as the report names it: relative to the project when inside it."""
    try:
        return str(folder.resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return str(folder)


def report(result: dict, settings: Settings, command: str, encoder: str) -> str:
    lines = [
        "# Abstention rule, fitted on held-out SQuAD train", "",
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine_description()}.", "",
        f"{result['questions']} questions of the 26 SQuAD-train articles the reader never trains on, each asked as "
        f"written, with its article left out, and ({result['twins']} of them) as an on-topic twin. Rates are shares "
        f"of replies that abstain. Reader: {_shown(settings.reranker_dir)} (its sha256 is in reranker.json). "
        f"Encoder: {encoder} (QA_TUNED_ENCODER).", "",
        "## How well each signal separates answerable from unanswerable (ROC-AUC)", "",
        "| signal | twins | article left out |", "|---|---:|---:|",
    ]
    names = {"strength": "evidence strength (cosine + coverage)", "p_top": "reader: answer probability of the best evidence sentence",
             "p_max": "reader: best answer probability of the top 3"}
    lines += [f"| {names[k]} | {v['twins']:.3f} | {v['removed']:.3f} |" for k, v in result["roc_auc"].items()]
    t = result["before"]
    sh = result["shipped"]
    lines += ["", f"The rule before this study (strength < {STRENGTH_ALONE}): false abstentions {t['false']:.1%}, "
              f"abstains on twins {t['twins']:.1%}, on left-out articles {t['removed']:.1%}.",
              f"The rule as configured now (qa.answer.abstains: strength + {settings.answer_prob_weight} x answer probability < "
              f"{settings.abstain_below}): false abstentions {sh['false']:.1%}, twins {sh['twins']:.1%}, left out {sh['removed']:.1%}.", "",
              "## Best rule of each family at a false-abstention budget", "",
              "| budget | rule | parameters | false abstentions | twins | left out |", "|---|---|---|---:|---:|---:|"]
    for label, fam in result["frontier"].items():
        for name, o in fam.items():
            lines.append(f"| {label} | {name} | {json.dumps(o['params'])} | {o['false']:.1%} | {o['twins']:.1%} | {o['removed']:.1%} |")
    c = result["chosen"]
    lines += ["", f"**Best at the same cost** (most abstention on unanswerable questions with no more false abstentions than "
              f"the rule as configured now; a candidate, to be tried on the project's sets before it ships, docs/design.md): "
              f"{c['family']} {json.dumps(c['params'])}: false {c['false']:.1%}, twins {c['twins']:.1%}, left out {c['removed']:.1%}.", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=TRAIN)
    ap.add_argument("--work", type=Path, default=Path("indexes/abstention-study"))
    ap.add_argument("--limit", type=int, default=1500)
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    settings = Settings.from_env()  # QA_RERANKER_DIR: study a reader before shipping it
    sha = json.loads((settings.reranker_dir / "reranker.json").read_text(encoding="utf-8"))["sha256"]
    # Keyed on the reader and the encoder themselves: a cache written for one is never read for another.
    from qa.embed import MiniLMEmbedder

    encoder = MiniLMEmbedder.configured(settings)
    cache = args.work / f"rows{ROWS_FORMAT}-{args.limit}-{settings.abstain_below}-{settings.answer_prob_weight}-{sha[:12]}-{encoder.fingerprint()[:12]}.json"
    rows = json.loads(cache.read_text()) if cache.is_file() else None
    if rows is None:
        rows = collect(args.data, args.work, args.limit, settings, encoder)
        cache.write_text(json.dumps(rows))
    result = study(rows, settings)
    print(json.dumps({k: result[k] for k in ("questions", "twins", "before", "shipped", "roc_auc", "chosen")}, indent=1))
    if args.report:
        command = "python eval/abstention_study.py" + (f" --limit {args.limit}" if args.limit != 1500 else "") + f" --report {args.report}"
        args.report.write_text(report(result, settings, command, encoder.name))
        args.report.with_suffix(".json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
