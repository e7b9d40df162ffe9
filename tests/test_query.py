"""Follow-ups resolved from the conversation: earlier questions, their answers, their articles."""

from __future__ import annotations

import pytest

from qa.query import Turn, needs_context, reader_query, resolve, retrieval_query, turns_from

ATTENDEES = (
    "Russia’s foreign minister, Sergei Lavrov, and Putin’s chief foreign policy adviser, Yuri Ushakov, were photographed "
    "earlier sitting across from Rubio, who attended the talks alongside the US national security adviser, Mike Waltz, "
    "and Steve Witkoff, Trump’s special envoy to the Middle East."
)


@pytest.mark.parametrize(
    "history, question, expected",
    [
        (["Who is Yuri Ushakov?"], "What did he say about the meeting?", "What did Yuri Ushakov say about the meeting?"),
        (["Who is Marco Rubio?"], "Where did his talks take place?", "Where did Marco Rubio's talks take place?"),
        # the people named only in the reply
        ([Turn("Who attended the Riyadh talks?", ATTENDEES)], "What did they agree on?",
         "What did Sergei Lavrov, Yuri Ushakov, Mike Waltz and Steve Witkoff agree on?"),
        ([Turn("Who won the women's marathon in Chicago?", "Ruth Chepngetich of Kenya won in 2:09:56.")], "What was her time?",
         "What was Ruth Chepngetich's time?"),
        ([Turn("Who won the women's marathon in Chicago?", "Ruth Chepngetich of Kenya won in 2:09:56.")], "How old is she?",
         "How old is Ruth Chepngetich?"),
        # a name once, without its titles; a two-word country is not a person
        ([Turn("Who was there?", "Crown Prince Mohammed bin Salman of Saudi Arabia welcomed Marco Rubio to Saudi Arabia.")],
         "What did they discuss?", "What did Mohammed bin Salman and Marco Rubio discuss?"),
        # "do it" is an action; a short answer's name, not its whole apposition; names earlier replies gave
        ([Turn("Who performed the first spacewalk?", "Leonov was famous for the first spacewalk.", short="Leonov")],
         "On what date did he do it?", "On what date did Leonov do it?"),
        ([Turn("Who heads the fund?", "Leading the talks is Dmitriev, the 49-year-old head of the fund.",
               short="Dmitriev, the 49-year-old head of the fund")], "Where did he study?", "Where did Dmitriev study?"),
        ([Turn("Who heads the fund?", "Leading the talks is Dmitriev, the head of the fund.", short="Dmitriev"),
          Turn("How old is he?", "Leading the talks is Dmitriev, the 49-year-old head of the fund.")],
         "What was he before that?", "What was Dmitriev before that?"),
        # a person the last question names by surname alone: the full name the conversation gave,
        # else the surname when the reply has them speak, not the first full name of the reply
        ([Turn("What did Zelenskyy say?", "Speaking in Ankara, where he met Turkey’s president, Recep Tayyip Erdoğan, "
               "Zelenskyy said he was not prepared to give up territory.")], "What else did he say?", "What else did Zelenskyy say?"),
        ([Turn("What did Zelenskyy say?", "Volodymyr Zelenskyy said on Monday that the talks had failed.")],
         "Why did he say it?", "Why did Volodymyr Zelenskyy say it?"),  # and a weekday is not what "it" is
        ([Turn("What did Zelenskyy say?", "Recep Tayyip Erdoğan met Zelenskyy in Ankara.")], "What did he say?",
         "What did Recep Tayyip Erdoğan say?"),
        ([Turn("Who won the marathon?", "Brigid Kosgei of Kenya won the 2019 Chicago Marathon.", short="Brigid Kosgei of Kenya")],
         "What was her time?", "What was Brigid Kosgei's time?"),
        # "Who is X?" is answered by a description of X: another name its short answer gives
        # is a misread span, and "he" stays X; a question asking for a person keeps the answer
        ([Turn("Who is Yuri Ushakov?", "Russia’s foreign minister, Sergei Lavrov, and Putin’s chief foreign policy adviser, "
               "Yuri Ushakov, were photographed earlier.", short="Sergei Lavrov")], "What did he say about the meeting?",
         "What did Yuri Ushakov say about the meeting?"),
        ([Turn("Who sat across from Rubio?", "Russia’s foreign minister, Sergei Lavrov, and Putin’s chief foreign policy adviser, "
               "Yuri Ushakov, were photographed earlier.", short="Sergei Lavrov")], "What did he say?", "What did Sergei Lavrov say?"),
        # ellipsis: the new name, year or phrase where one of the same kind was
        (["What did Marco Rubio say?"], "What about Sergei Lavrov?", "What did Sergei Lavrov say?"),
        (["How many people died in the floods in 2018?"], "And in 2019?", "How many people died in the floods in 2019?"),
        # there / then
        ([Turn("Where were the talks held?", "The talks were held at Diriyah Palace in Riyadh.")], "Who organised the talks there?",
         "Who organised the talks in Diriyah Palace?"),
        ([Turn("Where were the talks held?", "But the talks in the Saudi capital underscored the pace.")], "How long did the talks there last?",
         "How long did the talks in the Saudi capital last?"),  # the place noun stays with its name
        ([Turn("When did the band split?", "They split up in 1969.")], "What did Zappa do then?", "What did Zappa do in 1969?"),
        # a short-titled article is the conversation's subject
        ([Turn("What group disbanded?", "Zappa and the Mothers of Invention", ("Frank Zappa",))], "When did they disband?",
         "When did Zappa and the Mothers of Invention disband?"),
        ([Turn("Where was she born?", "In Athens.", ("Anna Vissi",))], "What happened in 1983?", "What happened in 1983 (Anna Vissi)?"),
        # a part of the subject's name stands for all of it, unless another name owns it
        ([Turn("Who was Tom Seaver?", "He was a pitcher.", ("Tom Seaver",))], "Who was Seaver compared to?", "Who was Tom Seaver compared to?"),
        ([Turn("Who was Tom Seaver?", "He was a pitcher.", ("Tom Seaver",))], "Did Nancy Seaver attend?", "Did Nancy Seaver attend?"),
    ],
)
def test_references_are_resolved(history, question, expected):
    assert resolve(question, history) == expected


def test_standalone_questions_and_no_history_are_unchanged():
    assert resolve("Who attended the Riyadh talks?", ["Who is Yuri Ushakov?"]) == "Who attended the Riyadh talks?"
    assert resolve("What did he say?") == "What did he say?"
    assert resolve("Is it true that talks resumed?", [Turn("Where?", "In Geneva.")]) == "Is it true that talks resumed?"


def test_retrieval_keeps_the_previous_question_when_nothing_could_be_resolved():
    assert retrieval_query("Why was it held there?", "Why was it held there?", ["where were the talks held"]) == "Why was it held there? where were the talks held"
    assert retrieval_query("What did he say?", "What did Yuri Ushakov say?", ["Who is Yuri Ushakov?"]) == "What did Yuri Ushakov say?"


def test_do_it_is_searched_as_the_deed_the_previous_question_asked_about():
    history = ["Who performed the first human spacewalk?"]
    assert retrieval_query("On what date did he do it?", "On what date did Leonov do it?", history) == (
        "On what date did Leonov do it? performed the first human spacewalk")
    assert retrieval_query("Why did she do it?", "Why did Kosgei do it?", ["Who is Brigid Kosgei?"]) == "Why did Kosgei do it?"  # no deed asked about


def test_history_formats():
    turns = turns_from([
        "Who is Yuri Ushakov?",
        {"question": "Who attended?", "answer": "Lavrov and Rubio."},
        {"question": "Where?", "citations": [{"text": "In Riyadh.", "title": "Talks"}, {"text": "At the palace.", "title": "Talks"}]},
        {"no": "question"}, 7, "  ",
    ])
    assert turns == [Turn("Who is Yuri Ushakov?"), Turn("Who attended?", "Lavrov and Rubio."), Turn("Where?", "In Riyadh. At the palace.", ("Talks", "Talks"))]


def test_needs_context():
    assert needs_context("And then?")
    assert needs_context("What did they agree?")
    assert not needs_context("Who attended the Riyadh talks?")


def test_a_question_naming_nothing_of_its_own_stays_on_the_conversations_article():
    turns = [Turn("Who won the 2019 Chicago Marathon?", "Brigid Kosgei won.", ("Kosgei sets world record at Chicago Marathon",))]
    q = "Who came second and third in the women's race?"
    assert retrieval_query(q, q, turns) == f"{q} Kosgei sets world record at Chicago Marathon"
    named = "Who won the Boston Marathon in 2018?"
    assert retrieval_query(named, named, turns) == named  # it names its own subject
    assert retrieval_query(q, q, []) == q


def test_the_reader_reads_the_question_without_the_title_it_reads_beside_every_sentence():
    turns = [Turn("Who won the 2019 Chicago Marathon?", "Brigid Kosgei won.", ("Kosgei sets world record at Chicago Marathon",))]
    q = "Who came second and third in the women's race?"
    assert reader_query(q, retrieval_query(q, q, turns), turns) == q
    # What the question needs from the conversation stays: the previous question, the deed.
    leaning = "Why was it held there?"
    search = retrieval_query(leaning, leaning, ["where were the talks held"])
    assert search != leaning and reader_query(leaning, search, ["where were the talks held"]) == search
    history = ["Who performed the first spacewalk?"]
    deed = retrieval_query("On what date did he do it?", "On what date did Leonov do it?", history)
    assert reader_query("On what date did Leonov do it?", deed, history) == deed


def test_his_and_her_skip_a_person_the_articles_refer_to_the_other_way():
    turns = [Turn("Who won the men's division of the 2019 Chicago Marathon?",
                  "Yesterday, Brigid Kosgei of Kenya won the 2019 Chicago Marathon. Countryman Lawrence Cherono won the men's division.")]
    def known(name: str) -> str | None:  # as Index.gender: by the surname
        return {"Kosgei": "f", "Cherono": "m"}.get(name.split()[-1])

    assert "Cherono's time?" in resolve("What was his time?", turns, known)
    assert resolve("What was her time?", turns, known) == "What was Brigid Kosgei's time?"
    assert resolve("What was his time?", turns) == "What was Brigid Kosgei's time?"  # nothing known: the first named
    # The only person named is known the other way: still the referent, rather than nobody.
    alone = [Turn("Who won the 2019 Chicago Marathon?", "Yesterday, Brigid Kosgei of Kenya won the 2019 Chicago Marathon.")]
    assert resolve("What was his time?", alone, known) == "What was Brigid Kosgei's time?"


def test_a_pronoun_is_resolved_once_and_never_away_from_a_person_the_question_names():
    turns = [Turn("Who is Russia's foreign minister?", "Sergei Lavrov is Russia's foreign minister.")]
    # The first "he" takes the referent; the next ones read as a person would write them.
    assert resolve("Where did he go after he left?", turns) == "Where did Sergei Lavrov go after he left?"
    assert resolve("What did he say about his plan?", turns) == "What did Sergei Lavrov say about his plan?"
    # "he" after a person the question names is that person, not the conversation's.
    assert resolve("What did Marco Rubio say after he left Riyadh?", turns) == "What did Marco Rubio say after he left Riyadh?"
    attendees = [Turn("Who attended the talks?", "Marco Rubio and Sergei Lavrov attended the talks.")]
    assert resolve("What did they say about their plans?", attendees) == "What did Marco Rubio and Sergei Lavrov say about their plans?"
