"""Shared text patterns: initials of names, and a question's names written as a passage writes them."""

from __future__ import annotations

import pytest

from qa.text import acronym, in_passage_words, name_runs, pronoun_gender


@pytest.mark.parametrize(
    ("name", "initials"),
    [
        ("International Atomic Energy Agency", "IAEA"),
        ("World Health Organization", "WHO"),
        ("United States", "US"),
        ("Bank of England", "BE"),
        ("Russian Direct Investment Fund", "RDIF"),
        ("Lavrov", None),
        ("the agency", None),
    ],
)
def test_acronym(name: str, initials: str | None):
    assert acronym(name) == initials


@pytest.mark.parametrize(
    ("question", "passage", "read_as"),
    [
        # the long form asked, the short form written, and the other way round
        ("When was the International Atomic Energy Agency established?", "Nobel prize: The IAEA, headquartered in Vienna, was established in 1957.",
         "When was the IAEA established?"),
        ("When was the IAEA founded?", "The International Atomic Energy Agency was founded in 1957.",
         "When was the International Atomic Energy Agency founded?"),
        ("When was the U.S. founded?", "The United States was founded in 1776.", "When was the United States founded?"),
        ("Who heads the Russian Direct Investment Fund?", "Dmitriev, head of the RDIF, spoke.", "Who heads the RDIF?"),
        # a person by surname, the possessive kept; roles before the surname are no other person
        ("What was Brigid Kosgei's time?", "Marathon: Kosgei finished in 2:14:04.", "What was Kosgei's time?"),
        ("What did Donald Trump say?", "US President Trump said he was glad.", "What did Trump say?"),
        ("What did Sergei Lavrov say?", "Russian Foreign Minister Lavrov said no.", "What did Lavrov say?"),
        # unchanged: the passage uses the name as asked, names someone else, or has no form of it
        ("What did Donald Trump say?", "President Donald Trump said; Trump left.", "What did Donald Trump say?"),
        ("What did Donald Trump say?", "Melania Trump said she was glad.", "What did Donald Trump say?"),
        ("What did the World Health Organization say?", "He asked who said that.", "What did the World Health Organization say?"),
        ("What did the Chicago Marathon winner say?", "The marathon was won by Kosgei.", "What did the Chicago Marathon winner say?"),
        ("Where were the talks held?", "The talks were held in Riyadh.", "Where were the talks held?"),
    ],
)
def test_in_passage_words(question: str, passage: str, read_as: str):
    assert in_passage_words(question, passage) == read_as


def test_pronoun_gender_reads_how_the_texts_refer_back_to_a_person():
    texts = [
        "Yesterday, Brigid Kosgei of Kenya won the race.",
        "In setting the new record, Kosgei finished six minutes ahead of her competition.",
        "Kosgei said she was not expecting it.",
        "Winner of the men's division, Cherono, posted a time of 2:05:45.",
        "He was followed closely by two Ethiopians.",
        "Cherono thanked his coach.",
    ]
    assert pronoun_gender("Brigid Kosgei", texts) == "f"
    assert pronoun_gender("Lawrence Cherono", texts) == "m"
    assert pronoun_gender("Paula Radcliffe", texts) is None  # never named: unknown
    # Not the subject, or another name between: the pronoun is someone else's.
    assert pronoun_gender("Kamala Harris", ["Joe Biden announced Kamala Harris as his choice for running mate."] * 3) is None
    assert pronoun_gender("Theresa May", ["The attacker survived; in May this year he was sentenced to death."] * 3) is None
    assert pronoun_gender("Kosgei", ["Kosgei beat Radcliffe and her record."] * 3) is None
    assert pronoun_gender("Andrew Johnson", ["Johnson's mother said she had no money."] * 3) is None
    # Evidence both ways: no verdict unless one side has twice the other.
    assert pronoun_gender("Sam Lee", ["Lee said he would go.", "Lee said she would go."]) is None


def test_a_name_run_ends_with_its_sentence_but_not_at_an_abbreviation():
    names = [n for _, _, n in name_runs("Kosgei won in Chicago Marathon. Countryman Lawrence Cherono won the men's race.")]
    assert "Lawrence Cherono" in names
    assert not any("." in n for n in names)
    text = "The U.S. Secretary of State Marco Rubio met Gen. Keith Kellogg in 2019. Putin did not."
    names = [n for _, _, n in name_runs(text)]
    assert "U.S. Secretary of State Marco Rubio" in names and "Gen. Keith Kellogg" in names and "Putin" in names
    assert all(text[s:e] == n for s, e, n in name_runs(text))
