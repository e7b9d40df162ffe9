"""Benchmark loaders and runner on tiny hand-made SQuAD/HotpotQA files (fake embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.evaluation.benchmarks import load
from qa.evaluation.reports import format_table
from qa.evaluation.runners import abstention_check, run_benchmark
from qa.settings import Settings

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Harbour_Town",
            "paragraphs": [
                {
                    "context": "Harbour Town was founded in 1820 by fishermen. Its lighthouse is painted red.",
                    "qas": [
                        {"id": "s1", "question": "When was Harbour Town founded?", "answers": [{"text": "1820", "answer_start": 28}]},
                        {"id": "s2", "question": "What colour is the lighthouse painted?", "answers": [{"text": "red", "answer_start": 73}]},
                    ],
                },
                {
                    "context": "The mayor is Ann Keane. She was elected in 2019.",
                    "qas": [{"id": "s3", "question": "Who is the mayor?", "answers": [{"text": "Ann Keane", "answer_start": 13}]}],
                },
            ],
        },
        {
            "title": "Comet",
            "paragraphs": [
                {
                    "context": "A comet passed Jupiter in March. Astronomers in Chile saw it first.",
                    "qas": [{"id": "s4", "question": "Where were the astronomers who saw the comet first?", "answers": [{"text": "Chile", "answer_start": 48}]}],
                }
            ],
        },
    ],
}

HOTPOT = [
    {
        "_id": "h1",
        "question": "Which harbour town has a red lighthouse and a mayor named Keane?",
        "answer": "Harbour Town",
        "supporting_facts": [["Harbour Town", 1], ["Keane", 0]],
        "context": [
            ["Harbour Town", ["Harbour Town was founded in 1820.", " Its lighthouse is painted red."]],
            ["Keane", ["Ann Keane is the mayor of Harbour Town.", " She was elected in 2019."]],
            ["Comet", ["A comet passed Jupiter.", " Astronomers saw it."]],
        ],
    }
]


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    p = tmp_path / "squad.json"
    p.write_text(json.dumps(SQUAD), encoding="utf-8")
    return p


def test_squad_gold_is_the_sentence_holding_the_answer(squad_file: Path):
    bench = load("squad", squad_file)
    assert [a.id for a in bench.articles] == ["Harbour_Town", "Comet"]
    text_of = {(s.article_id, s.index): s.text for sents in bench.sentences.values() for s in sents}
    golds = {q.id: [text_of[g] for g in q.gold] for q in bench.questions}
    assert golds["s1"] == ["Harbour Town was founded in 1820 by fishermen."]
    assert golds["s2"] == ["Its lighthouse is painted red."]
    assert golds["s3"] == ["The mayor is Ann Keane."]
    assert golds["s4"] == ["Astronomers in Chile saw it first."]


def test_hotpot_gold_uses_the_dataset_sentences(tmp_path: Path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps(HOTPOT), encoding="utf-8")
    bench = load("hotpot", p)
    (q,) = bench.questions
    text_of = {(s.article_id, s.index): s.text for sents in bench.sentences.values() for s in sents}
    assert sorted(text_of[g] for g in q.gold) == ["Ann Keane is the mayor of Harbour Town.", "Its lighthouse is painted red."]


@pytest.mark.parametrize("content, message", [("{oops", "not valid JSON"), ("[]", "not SQuAD")])
def test_bad_data_files(tmp_path: Path, content: str, message: str):
    p = tmp_path / "bad.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(QAError, match=message):
        load("squad", p)
    with pytest.raises(QAError, match="not found"):
        load("squad", tmp_path / "none.json")
    with pytest.raises(QAError, match="choose one of: squad, hotpot"):
        load("trivia", p)


def test_runner_scores_every_method(tmp_path: Path, squad_file: Path, fake_embedder):
    bench = load("squad", squad_file)
    result = run_benchmark(
        bench, tmp_path / "idx", fake_embedder, Settings(abstain_below=0.0),
        methods=("bm25", "dense", "rrf", "naive-llama-index", "qa"), progress=False,
    )
    assert result["n_questions"] == 4 and result["n_sentences"] == 6
    for name, m in result["methods"].items():
        assert 0.0 <= m["recall@1"] <= m["recall@3"] <= m["recall@5"] <= m["recall@10"] <= 1.0, name
        assert m["latency_p50_ms"] >= 0 and m["words_read"] > 0
    assert result["methods"]["bm25"]["recall@1"] >= 0.75  # the words overlap: BM25 finds them
    assert result["methods"]["naive-llama-index"]["recall@10"] == 1.0  # a chunk holds whole articles here
    assert "abstention" in result
    table = format_table(result)
    assert "BM25 alone" in table and "naive llama-index" in table


def test_hotpot_runner_reports_both_supporting_sentences(tmp_path: Path, fake_embedder):
    p = tmp_path / "h.json"
    p.write_text(json.dumps(HOTPOT), encoding="utf-8")
    result = run_benchmark(load("hotpot", p), tmp_path / "idx", fake_embedder, Settings(abstain_below=0.0), methods=("bm25", "qa"), progress=False)
    m = result["methods"]["bm25"]
    assert m["both@10"] == 1.0 and "citation_recall" in m


def test_abstention_check_auc():
    perfect = abstention_check([(0.8, 0.2), (0.7, 0.1), (0.9, 0.3)], threshold=0.5)
    assert perfect["roc_auc"] == 1.0 and perfect["balanced_accuracy_at_threshold"] == 1.0
    useless = abstention_check([(0.5, 0.5), (0.5, 0.5)], threshold=0.5)
    assert useless["roc_auc"] == 0.5


def test_canard_ceiling_bounds_what_a_word_selector_can_reach(tmp_path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("canard_ceiling", Path(__file__).resolve().parents[1] / "eval" / "canard_ceiling.py")
    assert spec and spec.loader
    ceiling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ceiling)
    rows = [
        # The person takes the title: "Zappa" (and "Frank") are title words.
        {"article_title": "Frank Zappa", "history": [{"question": "What group disbanded?", "answer": "The Mothers of Invention"}],
         "question": "When did he disband them?", "rewrite": "When did Frank Zappa disband the Mothers of Invention?"},
        # The person takes a word only the last answer has.
        {"article_title": "Frank Zappa", "history": [{"question": "What did he record?", "answer": "the album Hot Rats in 1969"}],
         "question": "Was it a hit?", "rewrite": "Was Hot Rats a hit?"},
    ]
    data = tmp_path / "dev.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = ceiling.ceilings(ceiling.load_canard(data))
    # Gold adds frank, zappa, mothers, invention, hot, rats: 6 words.
    assert result["oracle: title"] == (pytest.approx(2 / 6), 1.0)
    assert result["oracle: + the last answer"] == (pytest.approx(1.0), 1.0)  # mothers, invention; hot, rats
    recalls = [result[k][0] for k in ("oracle: title", "oracle: title + earlier questions", "oracle: + the last answer", "oracle: + all answers")]
    assert recalls == sorted(recalls)
    assert ceiling.main(["--data", str(tmp_path / "missing.jsonl")]) == 2
