"""Scoring rules of eval-format.md on hand-made cases, and the file format's errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.errors import QAError
from qa.evaluation.question_set import run_question_set
from qa.evaluation.questions import EvalQuestion, contains, load_questions, overlaps, score
from qa.metrics import normalize


def test_normalize_like_squad_with_typographic_quotes():
    assert normalize("The “Went Well” — an OK meeting!") == "went well — ok meeting"
    assert normalize("Kyiv’s involvement") == normalize("Kyiv's involvement") == "kyivs involvement"
    assert normalize("  A  cat\tand   THE dog ") == "cat and dog"
    assert normalize("49-year-old") == "49yearold"


def test_contains_is_substring_of_normalised_text():
    assert contains(normalize("the 49-year-old head"), normalize("49"))
    assert not contains(normalize("Lavrov spoke"), normalize("Ushakov"))


def test_overlap_rules():
    s = normalize("Ushakov further said the meeting “went well” and was “a serious conversation”.")
    assert overlaps(s, normalize("the meeting “went well”"))  # evidence inside sentence
    assert overlaps(normalize("went well"), normalize("the meeting went well and was fine"))  # sentence inside evidence
    # evidence that runs across a sentence boundary: the end of one meets the start of the other
    assert overlaps(normalize("He left early. They said the talks went on for hours"), normalize("the talks went on for hours until dawn"))
    assert not overlaps(normalize("They said the talks went on"), normalize("talks went on until dawn"))  # 3 words: too few
    assert not overlaps(normalize("Lavrov said no."), normalize("Rubio said yes."))


def q(**kw) -> EvalQuestion:
    base = dict(id="q", question="?", answers=("Rubio",), match="any", evidence=(), answerable=True, history=())
    base.update(kw)
    return EvalQuestion(**base)


def test_any_and_all_matching():
    reply = "Rubio met Lavrov in Riyadh."
    assert score(q(answers=("Rubio", "Waltz")), reply, False, [])["answer_correct"] is True
    assert score(q(answers=("Rubio", "Waltz"), match="all"), reply, False, [])["answer_correct"] is False
    assert score(q(answers=("Rubio", "Lavrov"), match="all"), reply, False, [])["answer_correct"] is True


def test_curly_quotes_in_answers_match_straight_ones():
    assert score(q(answers=("“went well”",)), "He said it went well.", False, [])["answer_correct"] is True


def test_abstaining_on_answerable_is_wrong_even_if_text_matches():
    s = score(q(answers=("Rubio",)), "The articles don't say. Rubio", True, [])
    assert s["answer_correct"] is False and s["abstention_correct"] is None


def test_unanswerable_scores_abstention_only():
    un = q(answers=(), answerable=False)
    assert score(un, "The articles don't say.", True, [])["abstention_correct"] is True
    s = score(un, "Lima is the capital.", False, ["Lima is the capital."])
    assert s["abstention_correct"] is False and s["answer_correct"] is None
    assert s["citation_precision"] == 0.0


def test_citation_precision_and_recall():
    question = q(answers=("five hours",), evidence=("lasted almost five hours", "the two sides had agreed"))
    cited = ["The talks lasted almost five hours.", "Lavrov smiled.", "Then the two sides had agreed to meet."]
    s = score(question, "\n".join(cited), False, cited)
    assert s["citation_precision"] == pytest.approx(2 / 3)
    assert s["citation_recall"] == 1.0
    s = score(question, cited[0], False, cited[:1])
    assert s["citation_recall"] == 0.5 and s["citation_precision"] == 1.0
    assert score(question, "x", False, [])["citation_precision"] is None  # no citations: not counted


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "set.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


GOOD = json.dumps({"id": "a", "question": "Who?", "answers": ["Rubio"]})


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"question": "Who?", "answers": []}), "missing required field 'id'"),
        (json.dumps({"id": "b", "answers": ["x"]}), "missing required field 'question'"),
        (json.dumps({"id": "b", "question": "Who?", "answers": "Rubio"}), "'answers' must be a list of strings"),
        (json.dumps({"id": "b", "question": "Who?", "answers": ["x"], "match": "some"}), "'match' must be"),
        (json.dumps({"id": "b", "question": "Who?", "answers": ["x"], "answerable": "no"}), "'answerable' must be true or false"),
        (json.dumps({"id": "b", "question": "Who?", "answers": ["x"], "history": "Who is he?"}), "'history' must be a list"),
        (json.dumps({"id": "b", "question": "Who?", "answers": []}), "needs at least one"),
        (json.dumps({"id": "a", "question": "Again?", "answers": ["x"]}), "duplicate id 'a'"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad: str, message: str):
    path = _write(tmp_path, [GOOD, "", bad])
    with pytest.raises(QAError) as exc:
        load_questions(path)
    assert f"{path}:3:" in str(exc.value) and message in str(exc.value)


def test_defaults_and_blank_lines(tmp_path: Path):
    path = _write(tmp_path, [GOOD, "", json.dumps({"id": "u", "question": "Capital of Peru?", "answers": [], "answerable": False})])
    a, u = load_questions(path)
    assert (a.match, a.answerable, a.evidence, a.history) == ("any", True, (), ())
    assert u.answerable is False


def test_missing_file(tmp_path: Path):
    with pytest.raises(QAError, match="not found"):
        load_questions(tmp_path / "none.jsonl")


def _fake_answer(text, cited=(), abstained=False):
    return SimpleNamespace(text=text, abstained=abstained, short_answer=None, query="",
                           citations=[SimpleNamespace(text=c, title="T", article_id="a", sentence_index=i) for i, c in enumerate(cited)])


def test_run_question_set_summary_and_follow_up_history():
    questions = [
        q(id="1", answers=("Rubio",), evidence=("Rubio met",)),
        q(id="2", answers=("Waltz",), history=("Who is Rubio?",)),
        q(id="3", answers=(), answerable=False),
        q(id="4", answers=(), answerable=False),
    ]
    seen = []

    def ask(question, history):
        seen.append(history)
        if history:
            return _fake_answer("The articles don't say.", abstained=True)
        return _fake_answer("Rubio met Lavrov. [1]", ["Rubio met Lavrov."])

    result = run_question_set(questions, ask, progress=False)
    s = result["summary"]
    # the follow-up's history is replayed through the product first, and its answer remembered
    assert seen[1] == [] and seen[2] == [{"question": "Who is Rubio?", "short_answer": "", "citations": [{"text": "Rubio met Lavrov.", "title": "T"}]}]
    assert s["n_questions"] == 4 and s["n_answerable"] == 2 and s["n_unanswerable"] == 2
    assert s["answer_accuracy"] == 0.5
    assert s["false_abstention_rate"] == 0.5
    assert s["abstention_accuracy"] == 0.0  # 3 and 4 were answered, not abstained
    assert s["citation_recall"] == 1.0 and s["n_with_evidence"] == 1
    assert s["citation_precision"] == pytest.approx(1 / 3)  # q1 precise; q3, q4 cite a non-answer
    assert s["mean_citations"] == 0.75
    for key in ("answer_accuracy", "citation_precision", "citation_recall", "abstention_accuracy", "false_abstention_rate",
                "mean_citations", "latency_p50_ms", "latency_p95_ms", "n_questions", "n_answerable", "n_unanswerable"):
        assert key in s
    row = result["questions"][0]
    assert row["reply"] and row["cited"] == ["Rubio met Lavrov."] and row["answer_correct"] is True
    assert s["n_cited"] == 3 and s["n_cited_non_answers"] == 0


def test_quoted_questions_and_headings_are_counted_as_non_answers():
    def ask(question, history):
        return _fake_answer("x", ["Who won the 2026 Kentucky Derby?", "Sovereign Grace won the Derby.", "Derby results"])

    s = run_question_set([q(id="1", answers=("Sovereign Grace",))], ask, progress=False)["summary"]
    assert s["n_cited"] == 3 and s["n_cited_non_answers"] == 2  # the question and the heading


def test_project_question_set_is_well_formed():
    from tests.conftest import ROOT, SEEDS

    questions = load_questions(ROOT / "eval" / "questions" / "seed.jsonl")
    text = (SEEDS / "000_340503b4c86ea83e.txt").read_text(encoding="utf-8")
    assert len(questions) >= 40
    assert sum(not x.answerable for x in questions) >= 8
    assert sum(bool(x.history) for x in questions) >= 6
    assert any(x.match == "all" for x in questions)
    for x in questions:
        for e in x.evidence:
            assert e in text, (x.id, e)


@pytest.mark.parametrize("line, why", [("[" * 1200 + "]" * 1200, "nested too deeply"), ('{"id": "q", "question": "x", "answers": [], "n": ' + "9" * 5000 + "}", "not valid JSON")])
def test_hostile_question_files_are_one_line_errors(tmp_path: Path, line: str, why: str):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(QAError, match=why) as exc:
        load_questions(path)
    assert str(exc.value).startswith(f"{path}:1:") and "\n" not in str(exc.value)
