"""The reply: quotes with citations, abstention with the closest passages apart, near-copies, bad questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.answer import ABSTAIN_TEXT, answer, check_question
from qa.errors import QAError
from qa.index import load_index
from qa.retrieve import Retriever
from qa.settings import Settings


@pytest.fixture
def retriever(tiny_index: Path, fake_embedder) -> Retriever:
    return Retriever(load_index(tiny_index), fake_embedder)


def test_answer_quotes_and_cites_with_offsets(retriever: Retriever):
    ans = answer("How much did the repairs cost, according to the mayor?", retriever, Settings(abstain_below=0.1))
    assert not ans.abstained
    c = ans.citations[0]
    article = retriever.index.articles[c.article_id]
    assert article["text"][c.start:c.end] == c.text
    assert f"{c.text} [1]" in ans.text
    assert c.source == "The Example Times" and c.title == "Harbour reopens after storm"
    assert 1 <= len(ans.citations) <= 3
    assert ans.timings_ms["total"] > 0


def test_weak_evidence_abstains_and_shows_closest_apart(retriever: Retriever):
    ans = answer("Quantum chromodynamics lattice gauge?", retriever, Settings(abstain_below=0.5))
    assert ans.abstained and ans.text == ABSTAIN_TEXT
    assert ans.citations == []
    d = ans.to_dict()
    assert d["abstained"] is True and d["citations"] == [] and isinstance(d["closest"], list)


def test_near_copies_are_not_quoted_twice(tmp_path: Path, fake_embedder):
    from qa.build import build_index
    from qa.seeds import read_seeds

    seeds = tmp_path / "s"
    seeds.mkdir()
    caption = "Rubio sits next to Waltz at the palace in Riyadh."
    (seeds / "a.txt").write_text(f"{caption}\n\nOther news today.\n\n{caption[:-1]} on Tuesday.\n", encoding="utf-8")
    build_index(read_seeds(seeds), tmp_path / "i", fake_embedder)
    r = Retriever(load_index(tmp_path / "i"), fake_embedder)
    ans = answer("Who sits next to Waltz at the palace?", r, Settings(abstain_below=0.1))
    texts = [c.text for c in ans.citations]
    assert len(texts) == 1


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", None])
def test_empty_question_is_refused(bad):
    with pytest.raises(QAError, match="empty"):
        check_question(bad, Settings())


def test_overlong_question_is_refused_with_the_limit():
    with pytest.raises(QAError, match="10,000 characters long; the limit is 2,000"):
        check_question("x" * 10_000, Settings())




def test_an_over_long_history_item_is_named_as_such(retriever: Retriever):
    with pytest.raises(QAError, match="history item 2 is 3,000 characters long"):
        answer("What did he say?", retriever, Settings(), history=["Who is the mayor?", "x" * 3000])


def test_a_quote_brings_the_sentences_it_cannot_be_read_without():
    from qa.retrieve import Hit
    from qa.sentences import Sentence
    from qa.units import with_units

    texts = [
        "Marco Polo travelled to China in 1271.",
        "He stayed for seventeen years.",
        "“We seek a strong and lasting peace in Ukraine.",
        "To achieve this, Russia must end its aggression,” Macron wrote on X.",
        "“This needs to be a permanent end to the war,” said Waltz.",
    ]
    sents = [Sentence("a", i, 0, 0, len(t), t) for i, t in enumerate(texts)]

    def units(i: int) -> list[int]:
        return [h.position for h in with_units([Hit(sents[i], 1.0, i, {})], sents, 5)]

    assert units(1) == [0, 1]  # "He" is the sentence before's Marco Polo
    assert units(3) == [2, 3]  # the quotation began a sentence earlier
    assert units(2) == [2, 3]  # ... and goes on to its attribution
    assert units(4) == [4]  # "“This" inside a quotation leans on nothing outside it
    assert units(0) == [0]



def test_the_sentence_after_a_quote_is_quoted_with_it_when_the_reader_says_it_answers_too():
    from qa.retrieve import Hit
    from qa.sentences import Sentence
    from qa.units import with_units

    texts = ["Plastoglobuli are spherical bubbles of lipids and proteins.", "They are surrounded by a lipid monolayer.",
             "What are they made of?", "Plastoglobuli were first described in 1965."]
    sents = [Sentence("a", i, 0, 0, len(t), t) for i, t in enumerate(texts)]
    sents[3] = Sentence("a", 3, 1, 0, len(texts[3]), texts[3])  # a paragraph of its own

    def units(i: int, next_prob: float, share: float = 0.5) -> list[int]:
        hit = Hit(sents[i], 1.0, i, {"answer_prob": 0.8, "next_prob": next_prob})
        return [h.position for h in with_units([hit], sents, 5, share)]

    assert units(0, 0.6) == [0, 1]  # the reader gives the next sentence 0.6, more than half the first's 0.8
    assert units(0, 0.3) == [0]  # less than half: the first stands alone
    assert units(0, 0.6, share=0.0) == [0]  # pairing off
    assert units(1, 0.9) == [0, 1]  # "They" leans back; a question after it is never quoted as evidence
    assert units(2, 0.9) == [2]  # the next sentence is in another paragraph
    assert [h.position for h in with_units([Hit(sents[0], 1.0, 0, {"answer_prob": 0.8})], sents, 5, 0.5)] == [0]  # not read: nothing added
    # A paired sentence that opens a quotation brings the rest of it, to its attribution.
    said = ["Macron spoke after the meeting.", "“We seek a strong and lasting peace in Ukraine.",
            "To achieve this, Russia must end its aggression,” Macron wrote on X.", "The talks ended."]
    quoted = [Sentence("b", i, 0, 0, len(t), t) for i, t in enumerate(said)]
    pair = Hit(quoted[0], 1.0, 0, {"answer_prob": 0.8, "next_prob": 0.7})
    assert [h.position for h in with_units([pair], quoted, 5, 0.5)] == [0, 1, 2]

def test_a_question_form_sentence_is_never_evidence():
    from qa.answer import admissible
    from qa.retrieve import Hit
    from qa.sentences import Sentence

    texts = ["What share of the vote do you expect to receive in the election?", "Polls give the party 12 percent of the vote."]
    hits = [Hit(Sentence("a", i, 0, 0, len(t), t), 2.0 - i, i, {}) for i, t in enumerate(texts)]
    articles = {"a": {"title": "Interview", "text": " ".join(texts)}}
    assert [h.position for h in admissible("What share of the vote does the party expect?", hits, articles)] == [1]
    assert admissible("What share of the vote does the party expect?", hits[:1], articles) == []


def test_the_short_answer_is_the_readers_span_when_it_is_confident_else_the_wanted_kind():
    from qa.answer import short_answer
    from qa.retrieve import Hit
    from qa.sentences import Sentence

    text = "The bridge, which cost £2.1bn, was opened by Mayor Ann Keane in May 2021."
    sentence = Sentence("a.txt", 0, 0, 0, len(text), text)
    at = text.index("Ann Keane")
    sure = Hit(sentence, 1.0, 0, {"span_start": float(at), "span_end": float(at + 9), "span_prob": 0.9})
    unsure = Hit(sentence, 1.0, 0, {**sure.signals, "span_prob": 0.1})
    settings = Settings(span_min=0.5)
    assert short_answer("Who opened the bridge?", [sure], settings) == "Ann Keane"
    assert short_answer("When was the bridge opened?", [unsure], settings) == "May 2021"  # the date asked for
    assert short_answer("Why was the bridge built?", [unsure], settings) is None
    # a neighbour brought in for context is not where the answer is read
    before = Hit(Sentence("a.txt", 0, 0, 0, 5, "Then."), 1.0, 1, {"unit_of": 0.0})
    assert short_answer("Who opened the bridge?", [before, sure], settings) == "Ann Keane"


def test_the_short_answer_comes_from_the_paired_sentence_when_the_reader_says_it_answers_better():
    """"Who won the Nobel Prize?": the lede announcing the winners is quoted first, the sentence
    after it names them; the bold answer is read where the reader puts the answer."""
    from qa.answer import short_answer
    from qa.retrieve import Hit
    from qa.sentences import Sentence
    from qa.units import with_units

    texts = ["On Tuesday, the Royal Swedish Academy of Sciences announced the winners of the 2019 Nobel Prize in Physics.",
             "The prize was shared between James Peebles and the duo of Didier Queloz and Michel Mayor."]
    sents = [Sentence("n", i, 0, 0, len(t), t) for i, t in enumerate(texts)]
    academy, peebles = texts[0].index("Royal Swedish"), texts[1].index("James Peebles")
    lede = {"answer_prob": 0.4, "span_start": float(academy), "span_end": float(academy + 33), "span_prob": 0.6}
    successor = {"next_span_start": float(peebles), "next_span_end": float(len(texts[1]) - 1), "next_span_prob": 0.7}
    settings = Settings(span_min=0.3)

    def shown(next_prob: float) -> str | None:
        hit = Hit(sents[0], 1.0, 0, {**lede, "next_prob": next_prob, **successor})
        chosen = with_units([hit], sents, 5, 0.5)
        assert [h.position for h in chosen] == [0, 1]  # both quoted, in reading order
        return short_answer("Who won the latest Nobel Prize?", chosen, settings)

    assert shown(0.9) == "James Peebles and the duo of Didier Queloz and Michel Mayor"
    assert shown(0.3) == "Royal Swedish Academy of Sciences"  # quoted as a pair, but the first still answers better
    # a neighbour brought for a quotation or a reference, never read for the question, is not where the answer is read
    plain = Hit(sents[0], 1.0, 0, lede)
    assert short_answer("Who won the latest Nobel Prize?", [plain, Hit(sents[1], 1.0, 1, {"unit_of": 0.0})], settings) == "Royal Swedish Academy of Sciences"


def test_the_readers_answer_probability_moves_the_abstention_and_without_a_reader_strength_decides():
    from qa.answer import abstains
    from qa.retrieve import Hit
    from qa.sentences import Sentence

    sentence = Sentence("a.txt", 0, 0, 0, 5, "Text.")
    settings = Settings(abstain_below=0.755, answer_prob_weight=0.2, coverage_weight=0.7)

    def hit(dense: float, **reader: float) -> Hit:
        return Hit(sentence, 1.0, 0, {"dense": dense, "coverage": 0.0, **reader})

    # the same middling evidence: answered when the reader says it answers, not when it says not
    assert not abstains([hit(0.70, answer_prob=0.9)], settings)
    assert abstains([hit(0.70, answer_prob=0.05)], settings)
    # strong evidence is answered whatever the reader says; very weak evidence never is
    assert not abstains([hit(0.80, answer_prob=0.0)], settings)
    assert abstains([hit(0.50, answer_prob=1.0)], settings)
    # no reader (rerank depth 0): strength alone against 0.72
    assert not abstains([hit(0.73)], settings) and abstains([hit(0.71)], settings)
    # abstain_below 0 never abstains
    assert not abstains([hit(0.0, answer_prob=0.0)], Settings(abstain_below=0.0))


def test_the_readers_span_is_mapped_from_the_title_prefixed_passage_to_the_sentence():
    import numpy as np

    from qa.rerank import Reading, pair_text

    sentence = "Ann Keane opened the bridge."
    passage = pair_text("Bridge opens", sentence)
    offset = passage.index(sentence)
    reading = Reading(np.zeros(2), np.array([0.8, 0.2]), [(offset, offset + 9, 0.7), (0, 6, 0.9)])
    assert reading.signals(0, passage, sentence) == {"answer_prob": 0.8, "span_start": 0.0, "span_end": 9.0, "span_prob": 0.7}
    assert reading.signals(1, passage, sentence) == {"answer_prob": 0.2}  # a span in the title is no answer


def test_a_question_past_the_earlier_replies_quotes_something_new_first():
    from qa.answer import past_earlier
    from qa.query import Turn
    from qa.retrieve import Hit
    from qa.sentences import Sentence

    said = "Zelenskyy said Ukraine would not accept any outcome reached without Kyiv."
    hits = [Hit(Sentence("a", i, 0, 0, len(t), t), 1.0 - i / 10, i) for i, t in
            enumerate([said, "Zelenskyy said he was not prepared to give up territory.", "The talks lasted five hours."])]
    turns = [Turn("What did Zelenskyy say?", f"{said} [1]")]
    again = past_earlier("What else did Zelenskyy say?", hits, turns)
    assert [h.position for h in again] == [1, 2, 0]  # the sentence already quoted goes last, not away
    assert past_earlier("Which other leaders spoke?", hits, turns)[0].position == 1
    # A question that does not ask past the earlier replies, or a conversation without replies, keeps the order.
    assert past_earlier("What did Zelenskyy say about territory?", hits, turns) == hits
    assert past_earlier("What else did Zelenskyy say?", hits, [Turn("What did Zelenskyy say?")]) == hits


@pytest.mark.parametrize(
    "question, kind",
    [("How many peacekeeping troops will Europe send?", "number"), ("How much did the repairs cost?", "number"),
     ("In what year did the war start?", "date"), ("What date was the meeting?", "date"),
     ("When did the talks start?", None), ("Who attended the talks?", None), ("What did Lavrov reject?", None)],
)
def test_which_questions_cannot_be_answered_without_a_number_or_a_date(question, kind):
    from qa.answer_type import strictly_typed

    assert strictly_typed(question) == kind


def test_a_count_question_is_not_answered_by_sentences_without_a_count():
    from qa.answer import lacks_wanted_kind
    from qa.retrieve import Hit
    from qa.sentences import Sentence

    def hits(*texts):
        return [Hit(Sentence("a", i, 0, 0, len(t), t), 1.0, i) for i, t in enumerate(texts)]

    proposal = "US officials have also proposed that Europe send a peacekeeping mission to Ukraine after a ceasefire."
    q = "How many peacekeeping troops will Europe send?"
    assert lacks_wanted_kind(q, hits(proposal, "EU officials met on Monday to discuss the possibility."))
    assert not lacks_wanted_kind(q, hits(proposal, "Europe would send about 30,000 troops."))  # one of the best 3 holds a count
    assert lacks_wanted_kind(q, hits(proposal, "x.", "y.", "Europe would send about 30,000 troops."))  # the 4th is too far down
    # A number the question already has is no answer; "when" is not held to a date (news says "on Tuesday").
    assert lacks_wanted_kind("How many of the 27 members agreed?", hits("All 27 members met."))
    assert not lacks_wanted_kind("When did the talks start?", hits("The talks started on Tuesday."))


def test_a_count_question_without_a_count_in_the_evidence_abstains(retriever: Retriever):
    ans = answer("How many fishermen returned to the quay at dawn?", retriever, Settings(abstain_below=0.0))
    assert ans.abstained and ans.closest  # the closest sentences are still shown, apart
    assert not answer("Who returned to the quay at dawn?", retriever, Settings(abstain_below=0.0)).abstained


def test_a_question_about_now_quotes_only_the_article_chosen_as_the_newest():
    from qa.answer import select
    from qa.retrieve import Hit
    from qa.sentences import Sentence

    words = ["The river flooded three towns overnight.", "Rescuers reached stranded families by boat.", "Storms closed the coastal road in March."]

    def hit(article: str, i: int, score: float, **signals: float) -> Hit:
        text = words[i]
        return Hit(Sentence(article, i, 0, 0, len(text), text), score, i,
                   {"dense": 0.6, "bm25": 5.0, "answer_prob": 0.8, "first_stage": score, **signals})

    settings = Settings(max_citations=3)
    # the same hits, near-equal by every signal: the chosen article's two, then an older one's
    new_a, new_b, old = hit("2020.txt", 0, 9.0, newest_of=2.0), hit("2020.txt", 1, 8.0, newest_of=2.0), hit("2019.txt", 2, 10.0)
    assert [h.sentence.article_id for h in select([new_a, new_b, old], settings)] == ["2020.txt", "2020.txt"]
    # a question not about now (no article was chosen) quotes across articles as before
    plain = [hit("2020.txt", 0, 9.0), hit("2020.txt", 1, 8.0), hit("2019.txt", 2, 10.0)]
    assert {h.sentence.article_id for h in select(plain, settings)} == {"2020.txt", "2019.txt"}


def test_his_in_a_follow_up_is_the_man_the_articles_call_he(tmp_path: Path, fake_embedder):
    from qa.build import build_index
    from qa.seeds import read_seeds

    seeds = tmp_path / "s"
    seeds.mkdir()
    (seeds / "race.txt").write_text(
        "Anna Berg won the women's race in Oslo.\n\nBerg said she had trained for a year.\n\n"
        "Tom Lind won the men's race.\n\nLind said he was tired after his run.\n", encoding="utf-8")
    build_index(read_seeds(seeds), tmp_path / "i", fake_embedder)
    r = Retriever(load_index(tmp_path / "i"), fake_embedder)
    history = [{"question": "Who won the men's race?", "answer": "Anna Berg won the women's race in Oslo. Tom Lind won the men's race."}]
    assert answer("What was his time?", r, Settings(), history=history).query == "What was Tom Lind's time?"
    assert answer("What was her time?", r, Settings(), history=history).query == "What was Anna Berg's time?"
