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


class TwinMaker:
    """On-topic unanswerable twins of an index's questions (qa.training.perturb: a key name,
    year or number of the question swapped for another of the same kind from the same
    article, one absent from the gold paragraph)."""

    def __init__(self, index, articles: dict[str, dict]) -> None:
        self.articles = articles
        self._para_of = {(s.article_id, s.index): s.paragraph for s in index.sentences}
        self._text_of = {(s.article_id, s.index): s.text for s in index.sentences}
        self._paragraphs: dict[tuple[str, int], list[str]] = {}
        for s in index.sentences:
            self._paragraphs.setdefault((s.article_id, s.paragraph), []).append(s.text)
        self._pools: dict[str, dict] = {}

    def make(self, question: str, qid: str, gold: frozenset) -> str | None:
        """The twin of `question` (gold sentences `gold`), or None when none can be made."""
        import random

        from qa.training.perturb import perturb, pools

        key = next((g for g in sorted(gold) if g in self._text_of), None)
        if key is None:
            return None
        article = key[0]
        if article not in self._pools:
            self._pools[article] = pools(self.articles.get(article, {}).get("text", ""))
        paragraph = " ".join(self._paragraphs.get((article, self._para_of[key]), []))
        made = perturb(question, self._text_of[key], paragraph, self._pools[article], random.Random(f"{qid}"))
        return made[0] if made else None


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
        "roc_auc_score": round(roc_auc([t["score"][0] for t in twins], [t["score"][1] for t in twins]), 4) if "score" in twins[0] else None,
        "abstains_on_twins": round(abstain_twin, 4),
        "false_abstentions": round(false_abstain, 4),
        "balanced_accuracy": round((abstain_twin + 1 - false_abstain) / 2, 4),
        "examples": [{"question": t["question"], "twin": t["twin"]} for t in twins[:10]],
    }


def abstention_check(pairs: list[tuple[float, float]], threshold: float) -> dict:
    """How well the abstention score (qa.answer.abstention_score) separates answerable
    (article indexed) from unanswerable (article removed) versions of the same questions:
    ROC-AUC and accuracy at thresholds."""
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
