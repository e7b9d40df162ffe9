from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import QAError
from qa.report import update_readme, write_benchmark_report


def _result() -> dict:
    metrics = {"recall@1": 0.5, "recall@3": 0.6, "recall@5": 0.7, "recall@10": 0.8, "mrr@10": 0.6, "answer_accuracy": 0.5,
               "citation_precision": 0.5, "citation_recall": None, "words_read": 30.0, "latency_p50_ms": 10.0, "latency_p95_ms": 12.0}
    return {
        "benchmark": "squad", "data": "d.json", "n_questions": 2, "n_articles": 1, "n_sentences": 5, "build_seconds": 1.0,
        "seconds": 2.0, "machine": "test cpu", "date": "2026-01-01", "settings": {"k": "v"},
        "methods": {"bm25": dict(metrics), "qa": dict(metrics, **{"recall@1": 0.75})},
        "misses": [{"question": "Q?", "answers": ["A"], "gold": "gold sentence", "top": "our sentence"}],
        "abstention": {"roc_auc": 0.9, "threshold": 0.5, "balanced_accuracy_at_threshold": 0.8, "abstention_at_threshold": 0.7,
                       "false_abstention_at_threshold": 0.1, "best_threshold": 0.5, "balanced_accuracy_at_best": 0.8},
    }


def test_benchmark_report_has_table_chart_and_misses(tmp_path: Path):
    path = tmp_path / "reports" / "squad.md"
    write_benchmark_report(path, _result())
    text = path.read_text()
    assert "| BM25 alone | 0.500" in text and "| qa (hybrid + context, cited reply) | 0.750" in text
    assert "test cpu" in text and "2026-01-01" in text and "ROC-AUC" in text
    assert "gold sentence" in text and "our sentence" in text
    assert path.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.with_suffix(".json").exists()


def test_readme_tables_are_copied_from_reports(tmp_path: Path):
    report = tmp_path / "squad.md"
    write_benchmark_report(report, _result())
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- eval:squad -->\nold numbers\n<!-- /eval:squad -->\noutro\n")
    update_readme(readme, [report])
    text = readme.read_text()
    assert "old numbers" not in text and "| qa (hybrid + context, cited reply) | 0.750" in text
    assert text.startswith("intro\n") and text.endswith("outro\n")
    update_readme(readme, [report])  # idempotent
    assert readme.read_text() == text


def test_report_without_table_is_an_error(tmp_path: Path):
    bad = tmp_path / "squad.md"
    bad.write_text("no table here")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- eval:squad -->\n<!-- /eval:squad -->\n")
    with pytest.raises(QAError, match="no table"):
        update_readme(readme, [bad])
