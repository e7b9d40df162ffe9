from __future__ import annotations

import pytest

from qa.query import contextualize, needs_context


@pytest.mark.parametrize(
    "history, question, expected",
    [
        (["Who is Yuri Ushakov?"], "What did he say about the meeting?", "What did Yuri Ushakov say about the meeting?"),
        (["Who is Marco Rubio?"], "Where did his talks take place?", "Where did Marco Rubio's talks take place?"),
        (["Tell me about Sergei Lavrov", "What is Nato?"], "What did she say?", "What did Nato say?"),
    ],
)
def test_pronoun_is_replaced_by_latest_name(history, question, expected):
    assert contextualize(question, history) == expected


def test_standalone_question_is_unchanged():
    assert contextualize("Who attended the Riyadh talks?", ["Who is Yuri Ushakov?"]) == "Who attended the Riyadh talks?"


def test_no_history_no_change():
    assert contextualize("What did he say?") == "What did he say?"


def test_without_a_name_the_previous_turn_is_appended():
    assert contextualize("Why was it held there?", ["where were the talks held"]) == "Why was it held there? where were the talks held"


def test_needs_context():
    assert needs_context("And then?")
    assert needs_context("What did they agree?")
    assert not needs_context("Who attended the Riyadh talks?")
