"""How far a follow-up resolver that only selects words can get on CANARD dev, by source.

    .venv/bin/python eval/canard_ceiling.py --data ../shared/data/canard/dev_all.jsonl

Scored like `qa eval --benchmark canard` (content words a method adds to the raw question,
against those the person's rewrite adds). An "oracle" row adds exactly the words of its
sources that the person added: precision 1 by construction, and its recall is the most any
selector over those sources can reach. "title, when the person used it" adds the whole
title exactly when the person used any of it. The last row is qa's rules (qa.query.resolve).
What the numbers mean for issue 13's goal: docs/design.md, "Follow-ups".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.errors import QAError  # noqa: E402
from qa.evaluation.canard import CanardTurn, content_words, load_canard  # noqa: E402
from qa.query import resolve  # noqa: E402
from qa.text import words  # noqa: E402


def _union(texts: list[str]) -> set[str]:
    return set().union(*(content_words(t) for t in texts)) if texts else set()


def ceilings(turns: list[CanardTurn]) -> dict[str, tuple[float, float]]:
    """Row name -> (added-word recall, precision)."""
    found: dict[str, list[int]] = {}
    gold_total = 0
    for t in turns:
        raw = set(words(t.question))
        gold = content_words(t.rewrite) - raw
        gold_total += len(gold)
        last = t.history[-1] if t.history else None
        title = _union(list(last.titles)) - raw if last else set()
        questions = _union([h.question for h in t.history]) - raw
        last_answer = content_words(last.answer) - raw if last else set()
        answers = _union([h.answer for h in t.history]) - raw
        rows = {
            "oracle: title": title & gold,
            "oracle: title + earlier questions": (title | questions) & gold,
            "oracle: + the last answer": (title | questions | last_answer) & gold,
            "oracle: + all answers": (title | questions | answers) & gold,
        }
        for name, picked in rows.items():
            _add(found, name, len(picked), len(picked))
        used = title if title & gold else set()
        _add(found, "title, when the person used it", len(used & gold), len(used))
        ours = content_words(resolve(t.question, t.history)) - raw
        _add(found, "qa (qa.query.resolve)", len(ours & gold), len(ours))
    return {name: (tp / gold_total if gold_total else 0.0, tp / added if added else 1.0) for name, (tp, added) in found.items()}


def _add(found: dict[str, list[int]], name: str, right: int, added: int) -> None:
    row = found.setdefault(name, [0, 0])
    row[0] += right
    row[1] += added


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/canard/dev_all.jsonl"), help="CANARD dev_all.jsonl")
    args = ap.parse_args(argv)
    try:
        turns = load_canard(args.data)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"CANARD dev: {len(turns)} turns\n\n| selection | added-word recall | precision |\n|---|---:|---:|")
    for name, (recall, precision) in ceilings(turns).items():
        print(f"| {name} | {recall:.3f} | {precision:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
