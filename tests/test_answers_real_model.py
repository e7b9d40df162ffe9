"""The real model on the seed article: the behaviours the product promises."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.model

FIVE = ("Rubio", "Waltz", "Witkoff", "Lavrov", "Ushakov")


def test_who_attended_names_all_five_and_cites_the_sentence(seed_assistant):
    ans = seed_assistant.ask("Who attended the Riyadh talks?")
    assert not ans.abstained
    assert all(name in ans.text for name in FIVE)
    naming = [c for c in ans.citations if all(n in c.text for n in FIVE)]
    assert naming, "a cited sentence names all five"
    assert len(ans.citations) <= 3


@pytest.mark.xfail(strict=True, reason="issue 11: the reader ranks 'After the talks at Diriyah Palace ... Marco Rubio said' "
                   "above the sentence naming all five (the first stage has it first); strict, so the day it passes this marker must go")
def test_who_attended_cites_the_sentence_naming_all_five_first(seed_assistant):
    ans = seed_assistant.ask("Who attended the Riyadh talks?")
    assert all(n in ans.citations[0].text for n in FIVE), ans.citations[0].text


@pytest.mark.parametrize("question", ["What is the capital of Peru?", "Who won the 2022 football World Cup?", "How do I bake sourdough bread?"])
def test_off_topic_questions_abstain(seed_assistant, question):
    ans = seed_assistant.ask(question)
    assert ans.abstained and ans.citations == []
    assert ans.text.startswith("The articles don't say")


def test_follow_up_uses_history(seed_assistant):
    alone = seed_assistant.ask("What did he say about the meeting?")
    follow = seed_assistant.ask("What did he say about the meeting?", history=["Who is Yuri Ushakov?"])
    assert "Ushakov" in follow.query
    assert not follow.abstained
    assert "Ushakov" in follow.citations[0].text
    assert "went well" in follow.text or "agreed for negotiators" in follow.text
    assert alone.query == "What did he say about the meeting?"


def test_where_question_cites_the_place(seed_assistant):
    ans = seed_assistant.ask("How long did the talks at Diriyah Palace last?")
    assert "almost five hours" in ans.citations[0].text
