"""Dense retrieval with the shipped encoder against a first-stage training checkpoint, on a
SQuAD-format benchmark (default SQuAD-13): recall@1/5/20 and MRR@20 of each question against
every sentence of the benchmark, split as the product splits them.

    .venv/bin/python eval/first_stage_study.py [--checkpoint checkpoints/first-stage] [--data FILE] [--limit N]
        [--product dense,hybrid,qa]

The first table is the dense signal alone, the one the training changes. The product's first
stage fuses it with BM25 and the context windows (qa/retrieve.py): `--product` builds the
benchmark's index with each encoder (in a temporary folder) and scores the product's methods
on it with `qa eval`'s runners (dense alone, the fused first stage, the whole reply with the
shipped reader and its fusion weights, which were fitted for the shipped encoder). What the numbers mean: docs/reranker.md, "The first
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
from qa.training.first_stage import TrainedEmbedder, dense_recall, encoder  # noqa: E402


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


def product_study(data: Path, folder: Path, limit: int, methods: tuple[str, ...]) -> dict[str, dict]:
    """`qa eval`'s metrics of the product's methods over an index built with each encoder."""
    import tempfile

    from qa.evaluation.runners import run_benchmark
    from qa.settings import Settings

    bench = load_squad(data)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, source in (("shipped", None), ("trained", folder)):
            result = run_benchmark(bench, Path(tmp) / name, TrainedEmbedder(source), Settings.from_env(), methods, limit or None, progress=False)
            out[name] = result["methods"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/first-stage"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/squad-v1.1-dev-13/dev-v1.1-13-articles.json"))
    parser.add_argument("--limit", type=int, default=0, help="the first N questions (a fixed shuffle for the dense table, the file's order for --product)")
    parser.add_argument("--product", default="", help="also these of qa eval's methods on an index built with each encoder: dense, hybrid, qa")
    args = parser.parse_args()
    methods = tuple(m for m in args.product.split(",") if m)
    if any(m not in ("dense", "hybrid", "qa") for m in methods):
        print("error: --product takes dense, hybrid and qa, comma-separated", file=sys.stderr)
        return 2
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
    if methods:
        product = product_study(args.data, args.checkpoint, args.limit, methods)
        print("\n| encoder | method | recall@1 | recall@5 | recall@10 | answer accuracy |\n|---|---|---:|---:|---:|---:|")
        for name, by_method in product.items():
            for m, r in by_method.items():
                print(f"| {name} | {m} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['recall@10']:.3f} | {r['answer_accuracy']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
