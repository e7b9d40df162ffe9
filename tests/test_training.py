"""Training the reader: the perturbation generator, the groups, and `qa train` end to end on
tiny data (resume, checkpoint, export, bad input)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from qa.cli import main
from qa.training.perturb import perturb, pools, spans

# --- perturbed (unanswerable) questions --------------------------------------------------

ARTICLE = (
    "Ana Ruiz opened the museum in 1923. It holds 4,000 paintings.\n\n"
    "In 1987 a storm hit the harbour, and Tom Reed led the repairs. The pier reopened in 1989 with 12 new cranes.\n\n"
    "The Grand Bridge was finished in 2001 by Carla Mendes."
)


def test_a_name_is_swapped_for_another_name_of_the_article():
    gold = "Ana Ruiz opened the museum in 1923."
    made = perturb("When did Ana Ruiz open the museum?", gold, gold + " It holds 4,000 paintings.", pools(ARTICLE), random.Random(0))
    assert made is not None
    question, old, new = made
    assert old == "Ana Ruiz" and new in {"Tom Reed", "Carla Mendes", "Grand Bridge", "The Grand Bridge"}
    assert question == f"When did {new} open the museum?"


def test_a_year_is_swapped_when_no_name_is_shared_with_the_gold_sentence():
    gold = "The pier reopened in 1989 with 12 new cranes."
    para = "In 1987 a storm hit the harbour, and Tom Reed led the repairs. " + gold
    made = perturb("How many cranes did the pier get in 1989?", gold, para, pools(ARTICLE), random.Random(1))
    assert made is not None and made[1] == "1989"
    assert made[2] in {"1923", "2001"}  # never 1987: it is in the gold paragraph


def test_no_perturbation_without_a_key_span_in_the_gold_sentence():
    gold = "It holds 4,000 paintings."
    assert perturb("What does the building hold?", gold, gold, pools(ARTICLE), random.Random(0)) is None
    assert perturb("Who founded it?", gold, gold, {"name": [], "year": [], "number": []}, random.Random(0)) is None


def test_span_kinds():
    text = "The Grand Bridge cost 4,000 euros in 2001. Reed paid 12."
    assert [t for _, _, t in spans("year", text)] == ["2001"]
    assert [t for _, _, t in spans("number", text)] == ["4,000", "12"]
    names = [t for _, _, t in spans("name", text, sentence_starts=False)]
    assert "Grand Bridge" in names and "Reed" not in names  # a lone capitalised word opening a sentence


# --- qa train on tiny data ----------------------------------------------------------------


def _tiny_training_data(folder: Path) -> Path:
    """Three short articles and a handful of questions in the SQuAD-train layout."""
    folder.mkdir()
    texts = {
        "Harbour": ["The harbour opened in 1901. It was built by the city council. Ferries leave every hour.", "A storm damaged the pier in 1987. Repairs took two years."],
        "Museum": ["The museum holds 4,000 paintings. Its director is Ana Ruiz. Entry is free on Sundays.", "The museum was founded in 1923. A new wing opened in 2010."],
        "Bridge": ["The bridge is 2 km long. It carries six lanes of traffic. Tolls were abolished in 2001."],
    }
    asks = [
        ("When did the harbour open?", "1901"), ("Who built the harbour?", "the city council"),
        ("When was the pier damaged?", "1987"), ("How many paintings does the museum hold?", "4,000"),
        ("Who is the museum's director?", "Ana Ruiz"), ("When was the museum founded?", "1923"),
        ("How long is the bridge?", "2 km"), ("When were tolls abolished?", "2001"),
    ]
    paragraphs, questions, pid = [], [], 0
    for title, paras in texts.items():
        for ctx in paras:
            paragraphs.append({"pid": pid, "title": title, "context": ctx, "sentences": []})
            for q, a in asks:
                if a in ctx:
                    questions.append({"qid": len(questions), "pid": pid, "question": q, "answers": [a], "answer_start": ctx.index(a), "pos_sent": 0})
            pid += 1
    (folder / "paragraphs.jsonl").write_text("\n".join(json.dumps(p) for p in paragraphs) + "\n", encoding="utf-8")
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def tiny_data(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the mining cache goes to ./.cache
    return _tiny_training_data(tmp_path / "data")


def test_mining_cut_short_resumes_from_the_buckets_kept_beside_the_checkpoint(tiny_data: Path, monkeypatch):
    """Each mined bucket is kept in the checkpoint's folder (committed with it), so mining cut
    short in one session goes on from there in the next; the parts go once the file is written."""
    from qa.training import squad

    corpus = squad.load_corpus(tiny_data)
    corpus.buckets = [[0], list(range(1, len(corpus.articles)))]
    calls: list[list[int]] = []

    def bucket_hits(corpus, bucket, work, embedder, k):
        calls.append(bucket)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the session ends while the second bucket is mined
        return {q.qid: [[q.article, 0]] for q in corpus.questions if q.article in bucket}

    class Encoder:
        def fingerprint(self) -> str:
            return "e" * 64

    monkeypatch.setattr(squad, "_bucket_hits", bucket_hits)
    target = tiny_data.parent / "checkpoint" / "mined.jsonl.gz"
    with pytest.raises(KeyboardInterrupt):
        squad.mine(corpus, target, tiny_data.parent / "scratch", Encoder(), log=lambda _: None)
    assert not target.exists() and len(list((target.parent / "mining").glob("bucket-000-*.json.gz"))) == 1
    hits = squad.mine(corpus, target, tiny_data.parent / "scratch", Encoder(), log=lambda _: None)
    assert calls == [[0], corpus.buckets[1], corpus.buckets[1]]  # the first bucket was not mined again
    assert hits == {q.qid: [[q.article, 0]] for q in corpus.questions}
    assert target.is_file() and not (target.parent / "mining").exists()
    assert squad.read_mined(target)[1] == hits


@pytest.mark.model
def test_groups_put_the_gold_sentence_first_and_never_use_the_answer_as_a_negative(tiny_data: Path):
    from qa.embed import MiniLMEmbedder
    from qa.training.items import ANSWERABLE, GroupMaker, plan
    from qa.training.squad import load_corpus, mine

    corpus = load_corpus(tiny_data)
    assert len(corpus.questions) == 8
    mined = mine(corpus, tiny_data.parent / "mined.jsonl.gz", tiny_data.parent / "cache", MiniLMEmbedder(), log=lambda _: None)
    maker = GroupMaker(corpus, mined, size=4, seed=3)
    items = plan(corpus, seed=3)
    assert sorted(n for n, kind in items if kind == ANSWERABLE) == list(range(8))
    twins = {every: sum(kind != ANSWERABLE for _, kind in plan(corpus, seed=3, perturbed_every=every)) for every in (0, 1, 2, 4)}
    assert twins[0] == 0 and twins[1] == 8 and twins[1] >= twins[2] >= twins[4]  # --twins-every: the twins' share
    for n in range(8):
        q = corpus.questions[n]
        g = maker.make(n, ANSWERABLE)
        assert g is not None and g.ranked and g.labels[0] == 1.0 and set(g.labels[1:]) == {0.0}
        assert q.answers[0] in g.texts[0][g.span[0] : g.span[1]]  # the span points at the answer
        assert all(q.answers[0].lower() not in t.lower() for t in g.texts[1:])
        assert maker.make(n, ANSWERABLE) == g  # the same group every time it is drawn


@pytest.mark.model
def test_groups_with_context_read_the_previous_sentence_and_keep_the_span_on_the_answer(tiny_data: Path):
    from qa.embed import MiniLMEmbedder
    from qa.rerank import CONTEXT_MARK
    from qa.training.items import ANSWERABLE, GroupMaker
    from qa.training.squad import load_corpus, mine

    corpus = load_corpus(tiny_data)
    mined = mine(corpus, tiny_data.parent / "mined.jsonl.gz", tiny_data.parent / "cache", MiniLMEmbedder(), log=lambda _: None)
    maker = GroupMaker(corpus, mined, size=4, seed=3, context=3)
    n = next(i for i, q in enumerate(corpus.questions) if q.question == "Who built the harbour?")
    g = maker.make(n, ANSWERABLE)
    assert g is not None
    # "It was built by the city council." is read after the first 3 words of its predecessor.
    assert g.texts[0] == f"Harbour: The harbour opened …{CONTEXT_MARK}It was built by the city council."
    assert g.texts[0][g.span[0] : g.span[1]] == "the city council"
    first = next(i for i, q in enumerate(corpus.questions) if q.question == "When did the harbour open?")
    g = maker.make(first, ANSWERABLE)
    assert g is not None and g.texts[0] == "Harbour: The harbour opened in 1901."  # a paragraph's first sentence has no context


@pytest.mark.model
def test_headline_groups_read_the_articles_first_sentence_as_title_and_keep_the_span(tiny_data: Path):
    from qa.embed import MiniLMEmbedder
    from qa.training.items import ANSWERABLE, GroupMaker
    from qa.training.squad import load_corpus, mine

    corpus = load_corpus(tiny_data)
    mined = mine(corpus, tiny_data.parent / "mined.jsonl.gz", tiny_data.parent / "cache", MiniLMEmbedder(), log=lambda _: None)
    plain, headed = GroupMaker(corpus, mined, size=4, seed=3), GroupMaker(corpus, mined, size=4, seed=3, headlines=1.0)
    n = next(i for i, q in enumerate(corpus.questions) if q.question == "Who built the harbour?")
    g = headed.make(n, ANSWERABLE)
    assert g is not None and g.texts[0] == "The harbour opened in 1901: It was built by the city council."
    assert g.texts[0][g.span[0] : g.span[1]] == "the city council"
    # the rest of the group is the plain group's, each sentence under its own article's headline
    p = plain.make(n, ANSWERABLE)
    assert p is not None and len(p.texts) == len(g.texts) and p.labels == g.labels
    assert all(t.endswith(u.split(": ", 1)[1]) for t, u in zip(g.texts, p.texts))
    first = next(i for i, q in enumerate(corpus.questions) if q.question == "When did the harbour open?")
    g = headed.make(first, ANSWERABLE)
    assert g is not None and g.texts[0] == "Harbour: The harbour opened in 1901."  # the first sentence keeps the title
    assert headed._text(corpus.questions[n].article, corpus.questions[n].gold) == p.texts[0]  # validation reads plain titles
    # a share of 0 changes nothing, and a share between reads headlines for some questions only
    assert all(GroupMaker(corpus, mined, size=4, seed=3, headlines=0.0).make(i, ANSWERABLE) == plain.make(i, ANSWERABLE) for i in range(8))
    half = GroupMaker(corpus, mined, size=4, seed=3, headlines=0.5)
    assert 0 < sum(half._headline(q.qid) for q in corpus.questions) < len(corpus.questions)


@pytest.mark.model
def test_a_new_run_can_start_from_another_runs_weights_with_context(tiny_data: Path, capsys):
    from qa.rerank import Reranker

    base = tiny_data.parent / "base"
    common = ["--data", str(tiny_data), "--layers", "2", "--questions", "4"]
    assert main(["train", *common, "--checkpoint", str(base), "--out", str(tiny_data.parent / "m0")]) == 0
    out = tiny_data.parent / "m1"
    ctx = tiny_data.parent / "ctx"
    assert main(["train", *common, "--checkpoint", str(ctx), "--out", str(out), "--init-from", str(base), "--context", "8",
                 "--max-length", "64", "--lr", "1e-5"]) == 0
    capsys.readouterr()
    state = json.loads((ctx / "state.json").read_text(encoding="utf-8"))
    assert state["config"]["init_from"] == str(base) and state["config"]["context"] == 8 and state["config"]["lr"] == 1e-5
    # It reads on from where the base run stopped in the item order, not its first items again.
    base_state = json.loads((base / "state.json").read_text(encoding="utf-8"))
    assert base_state["position"] > 0 and state["start_position"] == base_state["position"]
    assert state["position"] == base_state["position"] + state["questions_seen"] + state["perturbed_seen"] + state["skipped"]
    assert (ctx / "mined.jsonl.gz").is_file()  # the base run's mining, reused
    card = json.loads((out / "reranker.json").read_text(encoding="utf-8"))
    assert card["context_words"] == 8 and card["max_length"] == 64
    assert Reranker(out).context_words == 8
    # --resume keeps the run's context: changing it is refused in one line.
    assert main(["train", *common, "--checkpoint", str(ctx), "--resume", "--context", "4"]) == 2
    assert "context" in capsys.readouterr().err
    # A folder without a checkpoint cannot seed a run.
    assert main(["train", *common, "--checkpoint", str(tiny_data.parent / "c2"), "--init-from", str(tiny_data)]) == 2
    assert "--init-from" in capsys.readouterr().err


@pytest.mark.model
def test_a_run_that_ends_does_not_replace_the_shipped_reader_unless_asked(tiny_data: Path, capsys, monkeypatch):
    monkeypatch.chdir(tiny_data.parent)  # the default --out, qa/models/reranker, is relative: here it is a fresh folder
    common = ["--data", str(tiny_data), "--checkpoint", "ckpt", "--layers", "2", "--questions", "4"]
    assert main(["train", *common]) == 0
    assert "not exported over qa/models/reranker" in capsys.readouterr().out
    assert (tiny_data.parent / "ckpt" / "state.json").is_file() and not (tiny_data.parent / "qa").exists()
    assert main(["train", *common, "--export-only"]) == 0  # asked for: exported where the product reads it
    assert (tiny_data.parent / "qa" / "models" / "reranker" / "reranker.json").is_file()


@pytest.mark.model
def test_train_checkpoints_resumes_and_exports(tiny_data: Path, capsys):
    from qa.rerank import Reranker

    ckpt, out = tiny_data.parent / "ckpt", tiny_data.parent / "model"
    common = ["--data", str(tiny_data), "--checkpoint", str(ckpt), "--out", str(out), "--layers", "2", "--questions", "8"]
    # A session that stops early (a 0.001-minute budget) saves a checkpoint and exports nothing.
    assert main(["train", *common, "--minutes", "0.001"]) == 0
    assert "continue with `qa train --resume`" in capsys.readouterr().out
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == 1 and state["questions_seen"] + state["perturbed_seen"] == 4
    assert {p.name for p in ckpt.iterdir()} == {"weights.pt", "optimizer.pt", "state.json", "mined.jsonl.gz"}
    assert not out.exists()
    # Starting again without --resume would lose the run: refused in one line.
    assert main(["train", *common]) == 2
    assert "--resume" in capsys.readouterr().err
    # The next session resumes where it stopped and, the plan done, exports.
    assert main(["train", *common, "--resume"]) == 0
    assert "reader written to" in capsys.readouterr().out
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == 2 and len(state["sessions"]) == 2 and state["sessions"][1]["from_step"] == 1
    assert [p["step"] for p in state["loss_curve"]] == [1, 2]
    card = json.loads((out / "reranker.json").read_text(encoding="utf-8"))
    assert card["format"] == 2 and card["layers"] == 2 and card["training"]["step"] == 2
    # Resuming a finished run trains nothing and does not export over the model again.
    before = (out / "model.onnx").stat().st_mtime_ns
    assert main(["train", *common, "--resume"]) == 0
    assert "is complete" in capsys.readouterr().out
    assert (out / "model.onnx").stat().st_mtime_ns == before
    r = Reranker(out).warm_up()  # loads, and its checksum holds
    reading = r.read("When did the harbour open?", ["Harbour: The harbour opened in 1901.", "Bridge: It carries six lanes."])
    assert reading.logits.shape == (2,) and np.isfinite(reading.logits).all()
    assert reading.answer is not None and ((reading.answer > 0) & (reading.answer < 1)).all()
    s, e, p = reading.spans[0]
    assert 0 <= s < e <= len("Harbour: The harbour opened in 1901.") and 0 < p <= 1
    assert not list(tiny_data.parent.glob(".reranker-*")) and not list(tiny_data.parent.glob(".ckpt-*"))


@pytest.mark.model
def test_a_resumed_run_draws_the_same_items_as_an_uninterrupted_one(tiny_data: Path):
    from qa.training.loop import TrainConfig, Trainer

    base = TrainConfig(data=str(tiny_data), layers=1, questions=8, batch=2, val_questions=0)
    whole = Trainer(TrainConfig(**{**base.__dict__, "checkpoint": str(tiny_data.parent / "a")}), resume=False, log=lambda _: None)
    whole.run()
    split = Trainer(TrainConfig(**{**base.__dict__, "checkpoint": str(tiny_data.parent / "b"), "minutes": 0.0001}), resume=False, log=lambda _: None)
    split.run()
    assert split.state["step"] < whole.state["step"]
    again = Trainer(TrainConfig(**{**base.__dict__, "checkpoint": str(tiny_data.parent / "b")}), resume=True, log=lambda _: None)
    again.run()
    assert again.state["position"] == whole.state["position"] and again.state["step"] == whole.state["step"]
    a = {n: p.detach() for n, p in whole.named}
    b = {n: p.detach() for n, p in again.named}
    # The same items in the same order: the weights differ only by fp16/bf16 rounding of the checkpoint.
    assert max(float((a[n] - b[n]).abs().max()) for n in a) < 2e-3


def test_train_without_data_is_one_line(tmp_path: Path, capsys):
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--checkpoint", str(tmp_path / "c"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "training data not found" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_train_with_malformed_rows_is_one_line(tmp_path: Path, capsys):
    data = _tiny_training_data(tmp_path / "data")
    (data / "questions.jsonl").write_text('{"qid": 1}\n', encoding="utf-8")
    assert main(["train", "--data", str(data), "--checkpoint", str(tmp_path / "c"), "--out", str(tmp_path / "m")]) == 2
    assert "row 1 lacks" in capsys.readouterr().err


def test_resume_without_a_checkpoint_is_one_line(tmp_path: Path, capsys):
    data = _tiny_training_data(tmp_path / "data")
    assert main(["train", "--data", str(data), "--checkpoint", str(tmp_path / "none"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "nothing to resume" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag", [["--questions", "0"], ["--questions", "many"], ["--layers", "9"], ["--device", "tpu"], ["--export", "--export-only"],
                                  ["--context", "65"], ["--context", "-1"], ["--lr", "0"], ["--epochs", "inf"], ["--max-length", "8"],
                                  ["--twins-every", "-1"], ["--twins-every", "some"], ["--headlines", "1.5"], ["--headlines", "-0.1"], ["--headlines", "half"]])
def test_train_rejects_bad_flags(flag: list[str], capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", *flag])
    assert exc.value.code == 2 and "error" in capsys.readouterr().err
