"""Short answers on a benchmark: how often one is shown per kind of question and how often it
is right (ShortAnswers), and SQuAD's exact match and F1 of the spans (span_metrics)."""

from __future__ import annotations

from qa.metrics import normalize


class ShortAnswers:
    """How often a bold short answer is shown, per wanted kind, and how often it is right."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}  # kind -> [questions, shown, right]

    def add(self, question: str, shown: str | None, answers: list[str]) -> None:
        from qa.answer_type import wanted

        kind = wanted(question)
        if kind is None:
            return
        c = self.counts.setdefault(kind, [0, 0, 0])
        c[0] += 1
        if shown:
            s = normalize(shown)
            c[1] += 1
            c[2] += any(a and (a in s or s in a) for a in answers)

    def metrics(self) -> dict:
        return {
            k: {"questions": q, "shown": n, "right": r, "coverage": round(n / q, 3) if q else 0.0, "precision": round(r / n, 3) if n else None}
            for k, (q, n, r) in sorted(self.counts.items())
        }


def span_metrics(records: list[dict], span_min: float) -> dict:
    """Short answers scored as SQuAD scores them (exact match, token F1; official
    normalisation), over every question: a question without a short answer scores 0.

    - shown: what the product shows (the reader's span at probability >= span_min, else the
      answer-type span);
    - by threshold: the same rule at other thresholds (1.01: the answer-type span alone);
    - reader always: the reader's span in the best quoted sentence, whatever its probability;
    - gold sentence given: the reader's span when it reads the gold sentence alone.
    """
    from qa.metrics import exact_match, f1

    def score(preds: list[str]) -> dict:
        n = len(records) or 1
        return {"exact_match": round(sum(exact_match(p, r["answers"]) for p, r in zip(preds, records) if p) / n, 3),
                "f1": round(sum(f1(p, r["answers"]) for p, r in zip(preds, records) if p) / n, 3),
                "coverage": round(sum(1 for p in preds if p) / n, 3)}

    def rule(t: float) -> list[str]:
        return [r["reader"] if r["reader"] and r["p"] >= t else r["type"] for r in records]

    out = {"span_min": span_min, "questions": len(records), "shown": score([r["shown"] for r in records]),
           "reader always": score([r["reader"] for r in records]),
           "by threshold": {f"{t:.2f}": score(rule(t)) for t in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)}}
    given = [r["gold_given"] for r in records if r["gold_given"] is not None]
    if given:
        sub = [r for r in records if r["gold_given"] is not None]
        out["gold sentence given"] = {"questions": len(given),
                                      "exact_match": round(sum(exact_match(p, r["answers"]) for p, r in zip(given, sub)) / len(given), 3),
                                      "f1": round(sum(f1(p, r["answers"]) for p, r in zip(given, sub)) / len(given), 3)}
    return out
