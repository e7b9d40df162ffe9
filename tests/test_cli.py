"""The qa command in-process (and once as a real subprocess), with data redirected to tmp_path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main
from tests.conftest import ROOT, SEEDS


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys, qa.cli\n"
        "try:\n    qa.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'gradio', 'sentence_transformers', 'faiss', 'llama_index', 'transformers') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "HEAVY []" in out
    assert "build" in out and "ask" in out and "eval" in out and "serve" in out


def test_ask_before_any_index_says_run_build(capsys, tmp_path: Path):
    code, out, err = run(capsys, "ask", "Who attended?", "--index", str(tmp_path / "none"))
    assert code != 0 and out == ""
    assert err.strip().count("\n") == 0
    assert "run `qa build` first" in err


@pytest.mark.parametrize("question, message", [("", "empty"), ("   ", "empty"), ("x" * 10_000, "limit is 2,000")])
def test_bad_questions_get_one_line(capsys, question, message, tmp_path: Path):
    code, out, err = run(capsys, "ask", question, "--index", str(tmp_path))
    assert code == 2 and message in err and err.count("\n") == 1


def test_unknown_flag_value_names_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ask", "q", "--retriever", "dense2"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "invalid choice: 'dense2'" in err and "hybrid" in err and err.count("\n") == 1


def test_missing_seeds_folder(capsys, tmp_path: Path):
    code, _, err = run(capsys, "build", "--seeds", str(tmp_path / "nope"), "--index", str(tmp_path / "i"))
    assert code == 2 and "does not exist" in err


def test_empty_seeds_folder(capsys, tmp_path: Path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "junk.bin").write_bytes(b"\x00\x00")
    code, _, err = run(capsys, "build", "--seeds", str(tmp_path / "s"), "--index", str(tmp_path / "i"))
    assert code == 2 and "no readable articles" in err
    assert "skipped junk.bin" in err
    assert not (tmp_path / "i" / "CURRENT").exists()


@pytest.mark.model
def test_build_then_ask_end_to_end(capsys, tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "guardian.txt").write_text((SEEDS / "000_340503b4c86ea83e.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (seeds / "bad.txt").write_bytes(b"\x00\xff\x00binary")
    (seeds / "latin1.txt").write_bytes("Caf\xe9 owners in M\xe1laga closed their doors for a day.\n".encode("latin-1"))
    index = str(tmp_path / "idx")
    code, out, err = run(capsys, "build", "--seeds", str(seeds), "--index", index, "--quiet")
    assert code == 0, err
    assert "skipped bad.txt: binary" in err and "warning latin1.txt: not UTF-8" in err
    assert out.startswith("indexed 2 articles, 51 sentences")
    assert "sentences/s" in out

    code, out, err = run(capsys, "ask", "Who attended the Riyadh talks?", "--index", index, "--json")
    assert code == 0, err
    reply = json.loads(out)
    assert set(reply) >= {"question", "answer", "abstained", "citations", "timings_ms"}
    assert not reply["abstained"]
    for name in ("Rubio", "Waltz", "Witkoff", "Lavrov", "Ushakov"):
        assert name in reply["answer"]
    c = reply["citations"][0]
    assert set(c) >= {"n", "article_id", "title", "source", "sentence_index", "start", "end", "text", "score"}
    assert c["article_id"] == "guardian.txt" and c["source"] == "The Guardian"
    text = (seeds / "guardian.txt").read_text(encoding="utf-8")
    assert text[c["start"]:c["end"]] == c["text"]

    code, out, _ = run(capsys, "ask", "Who attended the Riyadh talks?", "--index", index)
    assert code == 0 and "[1]" in out and "Sources:" in out and "chars" in out

    code, out, _ = run(capsys, "ask", "What is the capital of Peru?", "--index", index)
    assert code == 0 and out.startswith("The articles don't say")
    assert "not an answer" in out

    # filters: only the admitted articles may answer; one that admits none is one line
    code, out, _ = run(capsys, "ask", "Who attended the Riyadh talks?", "--index", index, "--article", "latin1.txt", "--json")
    reply = json.loads(out)
    assert code == 0 and {c["article_id"] for c in reply["citations"] + reply["closest"]} == {"latin1.txt"}
    code, out, _ = run(capsys, "ask", "Who attended the Riyadh talks?", "--index", index, "--source", "the guardian", "--json")
    assert code == 0 and {c["article_id"] for c in json.loads(out)["citations"]} == {"guardian.txt"}
    code, _, err = run(capsys, "ask", "Who attended the Riyadh talks?", "--index", index, "--source", "Nowhere Gazette")
    assert code != 0 and err.count("\n") == 1 and "no article matches the filters" in err


@pytest.mark.model
def test_index_built_with_another_model_is_refused(capsys, tiny_index: Path):
    code, _, err = run(capsys, "ask", "Who is the mayor?", "--index", str(tiny_index))
    assert code == 3 and "built with model fake-bow" in err and "qa build --full" in err


@pytest.mark.model
def test_eval_smoke_on_the_seed_set(capsys, seed_index: Path):
    code, out, err = run(capsys, "eval", "--questions", str(ROOT / "eval" / "questions" / "seed.jsonl"),
                         "--index", str(seed_index), "--json")
    assert code == 0, err
    result = json.loads(out)
    s = result["summary"]
    assert s["n_questions"] == len(result["questions"]) >= 40
    assert 0.0 <= s["answer_accuracy"] <= 1.0 and s["latency_p95_ms"] >= s["latency_p50_ms"] > 0
    q = result["questions"][0]
    assert {"id", "question", "reply", "cited", "answer_correct", "citation_precision", "citation_recall"} <= set(q)


def test_a_date_filter_must_be_a_date(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ask", "Who?", "--since", "last week"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "'last week' is not a date like 2025-02-18" in err and err.count("\n") == 1


def test_eval_flags_that_do_not_go_together(capsys, tmp_path: Path):
    code, _, err = run(capsys, "eval", "--compare")
    assert code == 2 and "--benchmark" in err
    code, _, err = run(capsys, "eval", "--benchmark", "squad")
    assert code == 2 and "needs --data" in err
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "a", "question": "Who?", "answers": ["x"]}\n{"id": 1}\n', encoding="utf-8")
    code, _, err = run(capsys, "eval", "--questions", str(bad))
    assert code == 2 and f"{bad}:2:" in err


@pytest.mark.model
def test_switching_the_encoder_off_asks_for_a_rebuild_and_build_does_it(capsys, tmp_path: Path, monkeypatch):
    from tests.conftest import SEEDS

    index = str(tmp_path / "index")
    code, out, _ = run(capsys, "build", "--seeds", str(SEEDS), "--index", index)
    sentences = re.search(r"(\d+) sentences", out)
    assert code == 0 and sentences
    monkeypatch.setenv("QA_TUNED_ENCODER", "0")  # the packaged encoder, as published
    code, _, err = run(capsys, "ask", "Who attended the Riyadh talks?", "--index", index)
    assert code == 3 and err.count("\n") == 1 and "tuned by qa" in err and "QA_TUNED_ENCODER" in err
    code, out, _ = run(capsys, "build", "--seeds", str(SEEDS), "--index", index)
    assert code == 0 and "reused 0" in out and f"embedded {sentences[1]}," in out  # every vector made again, none mixed
    code, out, _ = run(capsys, "ask", "Who attended the Riyadh talks?", "--index", index, "--json")
    assert code == 0 and json.loads(out)["citations"]
