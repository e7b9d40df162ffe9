"""Abstention on a benchmark: does the reply say "the articles don't say" when they don't?

Two kinds of unanswerable question, each paired with its answerable original:
- the same question with its article removed from the index (off the collection);
- its on-topic twin (qa.training.perturb: a key name or number swapped for another of the
  same article), which the article no longer answers.
For each: ROC-AUC of the signals (evidence strength; the reader's answer probability) and
what the configured rule does."""

from __future__ import annotations

import numpy as np

from qa.metrics import roc_auc


def answer_prob(hits: list) -> float:
    """The reader's probability that the best hit answers (0 without a reader)."""
    return float(hits[0].signals.get("answer_prob", 0.0)) if hits else 0.0


def on_topic_check(twins: list[dict]) -> dict:
    """Answerable questions against their on-topic unanswerable twins: how well evidence
    strength and the reader's answer probability separate them (ROC-AUC), and what today's
    rule does (abstains on twins; false abstentions on the originals)."""
    if not twins:
        return {}
    n = len(twins)
    abstain_twin = sum(t["abstained"][1] for t in twins) / n
    false_abstain = sum(t["abstained"][0] for t in twins) / n
    return {
        "pairs": n,
        "roc_auc_strength": round(roc_auc([t["strength"][0] for t in twins], [t["strength"][1] for t in twins]), 4),
        "roc_auc_answer_prob": round(roc_auc([t["answer_prob"][0] for t in twins], [t["answer_prob"][1] for t in twins]), 4),
        "abstains_on_twins": round(abstain_twin, 4),
        "false_abstentions": round(false_abstain, 4),
        "balanced_accuracy": round((abstain_twin + 1 - false_abstain) / 2, 4),
        "examples": [{"question": t["question"], "twin": t["twin"]} for t in twins[:10]],
    }


def abstention_check(pairs: list[tuple[float, float]], threshold: float) -> dict:
    """How well evidence strength separates answerable (article indexed) from unanswerable
    (article removed) versions of the same questions: ROC-AUC and accuracy at thresholds."""
    pos = np.array([p for p, _ in pairs])
    neg = np.array([n for _, n in pairs])

    def acc(t: float) -> float:
        return float(((pos >= t).sum() + (neg < t).sum()) / (2 * len(pos)))

    grid = np.round(np.arange(0.30, 1.21, 0.02), 2)
    best = max(grid, key=acc)
    return {
        "roc_auc": round(roc_auc(pos.tolist(), neg.tolist()), 4),
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
