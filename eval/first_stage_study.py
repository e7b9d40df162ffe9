"""Dense retrieval with the shipped encoder against a first-stage training checkpoint, on a
SQuAD-format benchmark (default SQuAD-13): recall@1/5/20 and MRR@20 of each question against
every sentence of the benchmark, split as the product splits them.

    .venv/bin/python eval/first_stage_study.py [--checkpoint checkpoints/first-stage] [--data FILE] [--limit N]

This is the dense signal alone, the one the training changes: the product's first stage fuses
it with BM25 and the context windows (qa/retrieve.py), so a gain here is an upper bound on
what the fused first stage gains. What the numbers mean: docs/reranker.md, "The first
stage's encoder".
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.errors import QAError  # noqa: E402
from qa.evaluation.benchmarks import load_squad  # noqa: E402
from qa.training.first_stage import dense_recall, encoder  # noqa: E402


def study(data: Path, folder: Path, limit: int) -> dict[str, dict]:
    bench = load_squad(data)
    rows = [(a.id, s.index, s.text) for a in bench.articles for s in bench.split(a)]
    where = {(aid, i): n for n, (aid, i, _) in enumerate(rows)}
    questions = list(bench.questions)
    random.Random(13).shuffle(questions)
    questions = questions[:limit] if limit else questions
    gold = [{where[g] for g in q.gold if g in where} for q in questions]
    texts, asked = [t for _, _, t in rows], [q.question for q in questions]
    return {name: dense_recall(*encoder(source), texts, asked, gold) for name, source in (("shipped", None), ("trained", folder))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/first-stage"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/squad-v1.1-dev-13/dev-v1.1-13-articles.json"))
    parser.add_argument("--limit", type=int, default=0, help="the first N questions of a fixed shuffle (default: all)")
    args = parser.parse_args()
    try:
        result = study(args.data, args.checkpoint, args.limit)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    state = json.loads((args.checkpoint / "state.json").read_text(encoding="utf-8"))
    print(f"{args.data} ({next(iter(result.values()))['questions']} questions); checkpoint at step {state['step']}, {state['questions_seen']:,} questions read")
    print("| encoder | recall@1 | recall@5 | recall@20 | MRR@20 |\n|---|---:|---:|---:|---:|")
    for name, r in result.items():
        print(f"| {name} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['recall@20']:.3f} | {r['mrr@20']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
