"""The reader's learning curve, from its training checkpoint, as a Markdown table.

    .venv/bin/python eval/learning_curve.py [--checkpoint checkpoints/reader] [--write docs/reranker.md]

Each row is one validation point of `qa train` (600 held-out SQuAD v1.1 train questions,
the first stage's best 6 candidates): recall@1 at both exits, the answer head's ROC-AUC
(gold sentence against the candidates that do not answer and the perturbed twins), and the
span head's exact match and F1 on the gold sentence. With --write, the table replaces the
block between `<!-- curve -->` and `<!-- /curve -->` in that file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def table(state: dict) -> str:
    rows = [
        "| questions seen | recall@1 (3 layers) | recall@1 (6 layers) | answer ROC-AUC (6) | span EM (6) | span F1 (6) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for v in state.get("val_curve", []):
        rows.append(f"| {v['questions_seen']:,} | {v['recall@1_e3']:.3f} | {v['recall@1_e6']:.3f} | {v['answer_auc_e6']:.3f} | "
                    f"{v['span_em_e6']:.3f} | {v['span_f1_e6']:.3f} |")
    ceiling = next((v["ceiling"] for v in state.get("val_curve", [])), None)
    hours = state.get("wall_seconds", 0) / 3600
    where = "; ".join(sorted({s.get("device", "?") for s in state.get("sessions", [])}))
    note = (f"\n\nCeiling (gold among the 6 candidates): {ceiling:.3f}. So far: {state.get('questions_seen', 0):,} questions "
            f"({state.get('perturbed_seen', 0):,} of them perturbed twins) in {hours:.1f} h of training over "
            f"{len(state.get('sessions', []))} session(s), on {where}; step {state.get('step')}.")
    return "\n".join(rows) + (note if ceiling is not None else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", type=Path, default=Path("checkpoints/reader"))
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    state_file = args.checkpoint / "state.json"
    if not state_file.is_file():
        print(f"no training checkpoint in {args.checkpoint}; start one with `make train-reranker`", file=sys.stderr)
        return 2
    text = table(json.loads(state_file.read_text(encoding="utf-8")))
    if args.write:
        doc = args.write.read_text(encoding="utf-8")
        start, end = "<!-- curve -->", "<!-- /curve -->"
        if start not in doc or end not in doc:
            print(f"{args.write} has no {start} … {end} block", file=sys.stderr)
            return 2
        doc = doc[: doc.index(start) + len(start)] + "\n" + text + "\n" + doc[doc.index(end) :]
        args.write.write_text(doc, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
