"""The first stage's encoder training (qa/training/first_stage.py): what counts as a negative,
and a real run on tiny data that saves, refuses to start over, and resumes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qa.training.first_stage import contrastive_targets, main, training_pairs
from tests.test_training import _tiny_training_data


def test_a_sentence_holding_another_questions_answer_is_not_its_negative():
    batch = [
        ("When did the harbour open?", "The harbour opened in 1901.", ("Ferries leave every hour.",), (" 1901 ",)),
        ("Who opened the harbour in 1901?", "The mayor opened it in 1901 with a speech.", ("The harbour opened in 1901.",), (" the mayor ",)),
    ]
    passages, targets, masked = contrastive_targets(batch)
    assert passages == ["The harbour opened in 1901.", "The mayor opened it in 1901 with a speech.", "Ferries leave every hour."]  # each once
    assert targets == [0, 1]
    assert masked[0] == [False, True, False]  # the second gold sentence also says 1901: not a negative for the first question
    assert masked[1] == [False, False, False]  # the first gold names no mayor: a fair negative for the second


def test_training_pairs_never_use_the_gold_or_an_answer_holding_sentence_as_a_negative(tmp_path: Path):
    from qa.training.squad import load_corpus

    corpus = load_corpus(_tiny_training_data(tmp_path / "data"))
    everything = [(a, s) for a in range(len(corpus.articles)) for s in range(len(corpus.sentences[a]))]
    mined = {q.qid: [list(x) for x in everything] for q in corpus.questions}  # every sentence "mined" for every question
    pairs = training_pairs(corpus, mined, seed=13, negatives=3)
    assert len(pairs) == len(corpus.questions)
    for question, gold, negatives, answers in pairs:
        assert len(negatives) == 3 and gold not in negatives
        assert not any(a in f" {n.lower()} " for n in negatives for a in answers), question


@pytest.mark.model
def test_a_run_saves_refuses_to_start_over_and_resumes(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the mining cache goes to ./.cache
    data = _tiny_training_data(tmp_path / "data")
    ckpt = tmp_path / "ckpt"
    common = ["--data", str(data), "--checkpoint", str(ckpt), "--mined-from", str(tmp_path / "none"), "--questions", "4"]
    assert main(common) == 0
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == 1 and state["questions_seen"] == 4
    assert [v["step"] for v in state["val_curve"]] == [0, 1]  # the shipped encoder's row, and the plan's end
    assert {p.name for p in ckpt.iterdir()} == {"weights.pt", "optimizer.pt", "state.json", "mined.jsonl.gz"}
    assert main(common) == 1  # starting again would lose the run
    assert "--resume" in capsys.readouterr().err
    assert main([*common, "--resume"]) == 0  # the plan is done: nothing more to train, the state is kept
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == 1 and len(state["sessions"]) == 2
    assert main(["--minutes", "-1"]) == 2
    assert "0 or more" in capsys.readouterr().err


@pytest.mark.model
def test_an_exported_run_is_the_encoder_the_product_embeds_with_and_a_second_round_starts_from_it(tmp_path: Path, monkeypatch, capsys):
    import numpy as np
    import torch

    from qa.embed import MODEL_SHA256, MiniLMEmbedder
    from qa.training.first_stage import MIX, StageConfig, StageTrainer, TrainedEmbedder

    monkeypatch.chdir(tmp_path)
    data = _tiny_training_data(tmp_path / "data")
    ckpt, out = tmp_path / "ckpt", tmp_path / "encoder"
    common = ["--data", str(data), "--checkpoint", str(ckpt), "--mined-from", str(tmp_path / "none"), "--questions", "4"]
    assert main(common) == 0
    assert main([*common, "--export-only", "--out", str(out)]) == 0
    card = json.loads((out / "encoder.json").read_text(encoding="utf-8"))
    assert card["base_sha256"] == MODEL_SHA256 and card["training"]["step"] == 1 and card["mix"] == MIX
    assert "exported step 1/1" in capsys.readouterr().out
    mixed = MiniLMEmbedder(tuned_folder=out, cache_dir=tmp_path / "cache").fingerprint()
    assert main([*common, "--export-only", "--out", str(out), "--mix", "0"]) == 2 and "--mix" in capsys.readouterr().err
    assert main([*common, "--export-only", "--out", str(out), "--mix", "1"]) == 0  # the trained weights themselves
    tuned = MiniLMEmbedder(tuned_folder=out, cache_dir=tmp_path / "cache")
    assert tuned.fingerprint() not in (MODEL_SHA256, MiniLMEmbedder().fingerprint(), mixed)  # its own indexes
    sentences = ["The harbour opened in 1901.", "Who won the 2026 Kentucky Derby?", "Tolls on the bridge were abolished in 2001."]
    ours, theirs = tuned.encode(sentences), TrainedEmbedder(ckpt).encode(sentences)
    assert (ours * theirs).sum(axis=1).min() >= 0.999  # the ONNX graph with the exported tensors is the trained encoder
    untuned = MiniLMEmbedder(tuned=False, cache_dir=tmp_path / "cache").encode(sentences)
    assert not np.allclose(ours, untuned, atol=1e-4)  # and not the packaged one

    # A second round starts from the first's encoder, with negatives mined afresh by it.
    trainer = StageTrainer(StageConfig(data=str(data), checkpoint=str(tmp_path / "round2"), init_from=str(ckpt), questions=4),
                           resume=False, log=lambda m: None)
    saved = torch.load(ckpt / "weights.pt")
    layer = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(dict(trainer.model.named_parameters())[layer].to(torch.float16), saved[layer])
    assert (tmp_path / "round2" / "mined.jsonl.gz").is_file()


@pytest.mark.model
def test_a_step_lowers_the_loss_on_what_it_trained(tmp_path: Path, monkeypatch):
    from qa.training.first_stage import StageConfig, StageTrainer

    monkeypatch.chdir(tmp_path)
    data = _tiny_training_data(tmp_path / "data")
    trainer = StageTrainer(StageConfig(data=str(data), checkpoint=str(tmp_path / "ckpt"), mined_from=str(tmp_path / "none"),
                                       questions=8, batch=8, warmup=1, lr=1e-4), resume=False, log=lambda m: None)
    batch = trainer.pairs[:8]
    first = trainer.step(batch)
    trainer.state["step"] = 0  # the same learning rate again
    for _ in range(3):
        last = trainer.step(batch)
    assert math.isfinite(first) and last < first


@pytest.mark.model
def test_dense_recall_ranks_with_the_real_encoder_and_the_study_compares_a_checkpoint(tmp_path: Path, monkeypatch, capsys):
    import importlib.util
    import sys

    from qa.training.first_stage import dense_recall, encoder

    sentences = ["The harbour opened in 1901.", "The museum holds 4,000 paintings.", "Tolls on the bridge were abolished in 2001."]
    questions = ["When did the harbour open?", "How many paintings does the museum hold?", "When were the bridge tolls abolished?"]
    r = dense_recall(*encoder(), sentences, questions, [{0}, {1}, {2}])
    assert r == {"questions": 3, "recall@1": 1.0, "recall@5": 1.0, "recall@20": 1.0, "mrr@20": 1.0}
    wrong = dense_recall(*encoder(), sentences, questions, [{1}, {2}, {0}])  # gold rows that do not answer
    assert wrong["recall@1"] == 0.0 and wrong["mrr@20"] < 1.0

    # The study script: the shipped encoder against a one-step checkpoint on a SQuAD-format file.
    monkeypatch.chdir(tmp_path)
    data = _tiny_training_data(tmp_path / "data")
    ckpt = tmp_path / "ckpt"
    assert main(["--data", str(data), "--checkpoint", str(ckpt), "--mined-from", str(tmp_path / "none"), "--questions", "4"]) == 0
    squad = tmp_path / "dev.json"
    squad.write_text(json.dumps({"version": "1.1", "data": [{"title": "Harbour", "paragraphs": [
        {"context": " ".join(sentences), "qas": [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": " ".join(sentences).index(a)}]}
                                                 for i, (q, a) in enumerate(zip(questions, ["1901", "4,000", "2001"]))]}]}]}))
    spec = importlib.util.spec_from_file_location("first_stage_study", Path(__file__).resolve().parents[1] / "eval" / "first_stage_study.py")
    assert spec and spec.loader
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    monkeypatch.setattr(sys, "argv", ["first_stage_study.py", "--checkpoint", str(ckpt), "--data", str(squad), "--product", "dense,hybrid"])
    assert study.main() == 0
    out = capsys.readouterr().out
    assert "(3 questions); checkpoint at step 1" in out and "| shipped | 1.000 |" in out and "| trained |" in out
    # --product: the product's own methods over an index built with each encoder.
    assert "| shipped | dense | 1.000 |" in out and "| shipped | hybrid |" in out and "| trained | hybrid |" in out
    monkeypatch.setattr(sys, "argv", ["first_stage_study.py", "--checkpoint", str(ckpt), "--data", str(squad), "--product", "bm25"])
    assert study.main() == 2  # a method it does not run: one line, no traceback
    assert "--product takes" in capsys.readouterr().err


def test_the_encoder_study_refuses_bad_arguments_with_one_line(tmp_path: Path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("encoder_study", Path(__file__).resolve().parents[1] / "eval" / "encoder_study.py")
    assert spec and spec.loader
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    for bad in (["--mix", "0"], ["--mix", "1.5"], ["--mix", "a"], ["--sets", "squad"], ["--squad-limit", "-1"]):
        assert study.main(bad) == 2, bad
        assert capsys.readouterr().err.startswith("error: --mix takes")
    assert study.main(["--checkpoint", str(tmp_path), "--mix", "0.4"]) == 1  # no run there
    assert "state.json missing" in capsys.readouterr().err
