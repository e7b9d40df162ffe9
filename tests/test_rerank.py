"""The reranker: fusion features on hand-made cases, the retriever's use of it, the shipped
model's checksum and offline load (training: tests/test_training.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import answer_type
from qa.cli import main
from qa.index import load_index
from qa.rerank import CONTEXT_MARK, DEFAULT_FOLDER, FEATURES, Reading, Reranker, RerankerProblem, clip_context, features, fuse, pair_text
from qa.retrieve import Retriever

# --- features and fusion -------------------------------------------------------------


def test_features_standardise_first_stage_and_mark_answer_type():
    f = features(
        "When did the bridge reopen?",
        np.array([3.0, 2.0, 1.0]),
        [{"bm25": 5.0, "dense": 0.5}, {"bm25": 1.0, "dense": 0.7}, {"bm25": 0.0, "dense": 0.1}],
        ["The bridge reopened in March 2021.", "The bridge is long.", "Traffic was heavy."],
        np.array([1.0, 2.0, 0.5]),
    )
    assert set(f) == set(FEATURES)
    assert f["rerank"].tolist() == [1.0, 2.0, 0.5]  # logits are used as they are
    assert f["first_stage"].mean() == pytest.approx(0.0) and f["first_stage"].std() == pytest.approx(1.0)
    assert f["first_stage"][0] > f["first_stage"][1] > f["first_stage"][2]
    assert f["answer_type"].tolist() == [1.0, 0.0, 0.0]
    assert f["dense"].argmax() == 1
    assert f["answer_prob"].tolist() == [0.0, 0.0, 0.0]  # a reader without an answer head
    read = features("x", np.array([1.0, 0.0]), [{}, {}], ["a", "b"], np.array([0.0, 1.0]), np.array([0.9, 0.2]))
    assert read["answer_prob"].tolist() == [0.9, 0.2]  # the reader's probabilities, as they are


def test_constant_signal_standardises_to_zero_not_nan():
    f = features("x", np.array([2.0, 2.0]), [{}, {}], ["a", "b"], np.array([0.0, 1.0]))
    assert f["first_stage"].tolist() == [0.0, 0.0]
    assert np.isfinite(fuse(f, {"rerank": 1.0, "first_stage": 1.0})).all()


def test_fuse_is_the_weighted_sum():
    f = {"rerank": np.array([1.0, 3.0]), "first_stage": np.array([2.0, -1.0]), "answer_type": np.array([1.0, 0.0])}
    assert fuse(f, {"rerank": 1.0, "first_stage": 2.0, "answer_type": 0.5}).tolist() == [5.5, 1.0]
    # the first stage can overturn the cross-encoder only with enough weight
    assert fuse(f, {"rerank": 1.0, "first_stage": 0.5}).argmax() == 1
    assert fuse(f, {"rerank": 1.0, "first_stage": 1.0}).argmax() == 0


def test_pair_text_prefixes_the_title():
    assert pair_text("Bridges", "It reopened.") == "Bridges: It reopened."
    assert pair_text("", "It reopened.") == "It reopened."


# --- the retriever with a reranker ---------------------------------------------------


class _FavoursMarch:
    """Stands in for the cross-encoder: likes sentences that mention March."""

    weights = {"rerank": 1.0}

    def __init__(self, context_words: int = 0) -> None:
        self.seen: list[list[str]] = []
        self.context_words = context_words

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        self.seen.append(passages)
        return np.array([10.0 if "March" in p else 0.0 for p in passages])

    def read(self, question: str, passages: list[str], sentences: list[str] | None = None) -> Reading:
        return Reading(self.scores(question, passages), None, [None] * len(passages))


def test_retriever_reorders_the_first_stage_by_the_reranker(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    plain = Retriever(index, fake_embedder).search("comet", k=10)
    fake = _FavoursMarch()
    hits = Retriever(index, fake_embedder, reranker=fake, rerank_depth=len(plain)).search("comet", k=3)
    assert "March" in hits[0].sentence.text
    assert plain[0].sentence.text != hits[0].sentence.text  # it really moved
    assert hits[0].signals["rerank"] == 10.0 and "first_stage" in hits[0].signals
    # each passage leads with its article's title; for an untitled article, its first sentence's first 8 words
    first = {x.article_id: x.text for x in reversed(index.sentences) if x.index == 0}
    topic = {a: m["title"] or " ".join(first[a].split()[:8]) for a, m in index.articles.items()}
    assert any(not m["title"] for m in index.articles.values())  # the fallback is exercised
    expected = {pair_text(topic[x.article_id], x.text) for x in index.sentences}
    assert fake.seen[0] and set(fake.seen[0]) <= expected


def test_a_reader_trained_with_context_reads_each_sentence_after_its_predecessor(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    fake = _FavoursMarch(context_words=2)
    retriever = Retriever(index, fake_embedder, reranker=fake, rerank_depth=len(index.sentences))
    retriever.search("comet", k=3)
    sents = index.sentences
    first = {x.article_id: x.text for x in reversed(sents) if x.index == 0}
    topic = {a: m["title"] or " ".join(first[a].split()[:8]) for a, m in index.articles.items()}
    expected = set()
    for i, x in enumerate(sents):
        prev = sents[i - 1] if i and sents[i - 1].article_id == x.article_id and sents[i - 1].paragraph == x.paragraph else None
        expected.add(pair_text(topic[x.article_id], x.text, clip_context(prev.text, 2) if prev else ""))
    assert fake.seen[0] and set(fake.seen[0]) <= expected
    assert any(CONTEXT_MARK in p for p in fake.seen[0])  # some sentence had a predecessor, read first


def test_follow_depth_reads_the_sentence_after_each_best_first_stage_hit(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    plain = Retriever(index, fake_embedder)
    first = plain.first_stage("comet", 10**6)
    successor = plain._next[first[0].position]
    assert successor >= 0  # the best hit has a next sentence in its paragraph: the case under test
    fake = _FavoursMarch()
    retriever = Retriever(index, fake_embedder, reranker=fake, rerank_depth=1, follow_depth=1)
    hits = retriever.search("comet", k=5)
    assert fake.seen[0] == [retriever.passage(first[0].position), retriever.passage(int(successor))]
    assert len({h.position for h in hits}) == len(hits) == 5  # no sentence twice
    # Without follow_depth the reader reads only the first stage's best.
    fake2 = _FavoursMarch()
    Retriever(index, fake_embedder, reranker=fake2, rerank_depth=1).search("comet", k=5)
    assert fake2.seen[0] == [retriever.passage(first[0].position)]


class _AnswersMarch(_FavoursMarch):
    """A reader with an answer head: sure (0.9) of sentences that mention March, else 0.1."""

    def read(self, question: str, passages: list[str], sentences: list[str] | None = None) -> Reading:
        logits = self.scores(question, passages)
        return Reading(logits, np.where(logits > 0, 0.9, 0.1), [None] * len(passages))


def test_the_reader_reads_deeper_only_when_none_of_the_first_passages_likely_answers(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    first = Retriever(index, fake_embedder).first_stage("comet", 10**6)
    march = [i for i, h in enumerate(first) if "March" in h.sentence.text]
    assert march and march[0] >= 1  # the March sentence is not the first stage's best: the case under test
    depth = march[0]  # the first `depth` hold no March sentence, the next one does
    shallow = _AnswersMarch()
    hits = Retriever(index, fake_embedder, reranker=shallow, rerank_depth=depth, deeper=2).search("comet", k=3)
    assert [len(p) for p in shallow.seen] == [depth, min(2, len(first) - depth)]  # read on, once
    assert "March" in hits[0].sentence.text  # and what it found there wins
    # A first read that already holds a likely answer stops there; without `deeper` it never reads on.
    sure = _AnswersMarch()
    Retriever(index, fake_embedder, reranker=sure, rerank_depth=depth + 1, deeper=2).search("comet", k=3)
    assert [len(p) for p in sure.seen] == [depth + 1]
    never = _AnswersMarch()
    Retriever(index, fake_embedder, reranker=never, rerank_depth=depth).search("comet", k=3)
    assert [len(p) for p in never.seen] == [depth]



def test_the_reader_reads_the_sentence_after_the_best_one_only_when_pairing_is_on(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    plain = _AnswersMarch()
    hits = Retriever(index, fake_embedder, reranker=plain, rerank_depth=1).search("comet", k=3)
    assert len(plain.seen) == 1 and "next_prob" not in hits[0].signals  # off: nothing more is read
    paired = _AnswersMarch()
    retriever = Retriever(index, fake_embedder, reranker=paired, rerank_depth=1, pair_share=0.5)
    hits = retriever.search("comet", k=3)
    successor = int(retriever._next[hits[0].position])
    assert successor >= 0  # the case under test: the best sentence has a next one in its paragraph
    assert paired.seen[1] == [retriever.passage(successor)]  # read after the first, with the first as its context
    expected = 0.9 if "March" in index.sentences[successor].text else 0.1
    assert hits[0].signals["next_prob"] == pytest.approx(expected)
    assert "next_span_start" not in hits[0].signals  # this reader gives no spans, so none is passed on
    spans = _SpansAtTheEnd()
    retriever = Retriever(index, fake_embedder, reranker=spans, rerank_depth=1, pair_share=0.5)
    best = retriever.search("comet", k=3)[0]
    s, successor = best.signals, index.sentences[int(retriever._next[best.position])].text
    # the span is the successor's last five characters, as offsets into the successor itself
    assert successor[int(s["next_span_start"]) : int(s["next_span_end"])] == successor[-5:] and s["next_span_prob"] == pytest.approx(0.8)


class _SpansAtTheEnd(_AnswersMarch):
    """A reader that also gives an answer span: each passage's last five characters (0.8)."""

    def read(self, question: str, passages: list[str], sentences: list[str] | None = None) -> Reading:
        r = super().read(question, passages, sentences)
        return Reading(r.logits, r.answer, [(len(p) - 5, len(p), 0.8) for p in passages])

class _RecordsQuestions(_FavoursMarch):
    def read(self, question: str, passages: list[str], sentences: list[str] | None = None) -> Reading:
        self.questions = [*getattr(self, "questions", []), question]
        return super().read(question, passages, sentences)


def test_the_reader_reads_read_as_while_the_first_stage_reads_the_query(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    reader = _RecordsQuestions()
    retriever = Retriever(index, fake_embedder, reranker=reader, rerank_depth=3)
    hits = retriever.search("comet Bridges", k=3, read_as="comet")
    assert reader.questions == ["comet"]
    assert [h.position for h in hits] and {h.position for h in hits} <= {h.position for h in retriever.first_stage("comet Bridges", 3)}
    retriever.search("comet Bridges", k=3)
    assert reader.questions == ["comet", "comet Bridges"]  # without read_as the reader reads the query


def test_pair_text_and_context_clipping():
    assert pair_text("Bridges", "It reopened.", "The old bridge closed …") == f"Bridges: The old bridge closed …{CONTEXT_MARK}It reopened."
    assert pair_text("", "It reopened.", "Before.") == f"Before.{CONTEXT_MARK}It reopened."
    assert clip_context("one two three four", 2) == "one two …"
    assert clip_context("one two", 2) == "one two"
    assert clip_context("one two", 0) == ""


def test_reranker_reads_only_depth_candidates(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    fake = _FavoursMarch()
    first = Retriever(index, fake_embedder).search("comet", k=10)
    march_rank = next(i for i, h in enumerate(first) if "March" in h.sentence.text)
    assert march_rank > 0
    hits = Retriever(index, fake_embedder, reranker=fake, rerank_depth=march_rank).search("comet", k=10)
    assert len(fake.seen[0]) == march_rank
    assert [h.sentence.text for h in hits] != [] and "March" not in hits[0].sentence.text  # beyond depth: untouched


def test_depth_zero_turns_the_reranker_off(tiny_index: Path, fake_embedder):
    r = Retriever(load_index(tiny_index), fake_embedder, reranker=_FavoursMarch(), rerank_depth=0)
    assert r.reranker is None


def test_second_hop_puts_a_new_sentence_second_judged_against_the_question(tiny_index: Path, fake_embedder):
    index = load_index(tiny_index)
    plain = Retriever(index, fake_embedder).search("Who found the comet near Jupiter?", k=6)
    hop = Retriever(index, fake_embedder, hop_depth=5).search("Who found the comet near Jupiter?", k=6)
    assert hop[0].position == plain[0].position  # the best hit stays first
    assert len(hop) == 6 and len({h.position for h in hop}) == 6
    assert hop[1].signals.get("hop") == 2.0 and hop[1].position not in {plain[0].position, plain[1].position}
    qvec = fake_embedder.encode(["Who found the comet near Jupiter?"])[0]
    assert hop[1].signals["dense"] == pytest.approx(float(index.vectors[hop[1].position] @ qvec))
    assert [h.score for h in hop] == sorted((h.score for h in hop), reverse=True)


# --- answer types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, kind",
    [
        ("When did the talks begin?", "date"),
        ("In what year was it founded?", "date"),
        ("How many people died?", "number"),
        ("How much did the repairs cost?", "number"),
        ("Who led the delegation?", "person"),
        ("Why did the talks fail?", None),
        ("What is the capital?", None),
    ],
)
def test_wanted_kind(question: str, kind: str | None):
    assert answer_type.wanted(question) == kind


def test_person_spans_are_found_for_the_fusion_feature():
    assert answer_type.spans("person", "The network was founded by Edward J. Noble.") == ["Edward J. Noble"]
    assert answer_type.agrees("Who founded it?", "It was founded by Edward J. Noble.") == 1.0


@pytest.mark.parametrize(
    "question, sentence, expected",
    [
        ("When did ABC launch?", "ABC launched on October 12, 1943 as a radio network.", "October 12, 1943"),
        ("How many people were killed?", "The quake killed 69,197 people in 2008.", "69,197"),  # the year is not a count
        ("Who founded the network?", "The network was founded by Edward J. Noble.", None),  # names: too unreliable to show
        ("How many people died?", "Figures put the dead at 69,197, including 68,636 in Sichuan.", None),  # two: no guess
        ("When did it open in 1990?", "It opened in 1990.", None),  # the question already has it
        ("Why did it close?", "It closed in 1990.", None),
        # an amount keeps its unit and magnitude: "£2.1bn" is not "£2" (the bus fare beside it)
        ("How much did the tram cost?", "The tram cost £2.1bn.", "£2.1bn"),
        ("How much did the tram cost?", "The tram cost £2.1bn and a bus fare is £2.", None),
        ("How much was raised?", "They raised $350m.", "$350m"),
        ("How many people live there?", "About 5.4 million people live there.", "About 5.4 million"),
    ],
)
def test_short_answer_only_when_there_is_exactly_one(question: str, sentence: str, expected: str | None):
    assert answer_type.short_answer(question, sentence) == expected


# --- the shipped model -------------------------------------------------------------------


def test_shipped_reranker_matches_its_checksum_and_says_where_it_came_from():
    from qa.embed import sha256_file

    card = json.loads((DEFAULT_FOLDER / "reranker.json").read_text(encoding="utf-8"))
    assert sha256_file(DEFAULT_FOLDER / card["model"]) == card["sha256"]
    assert "SQuAD v1.1 train" in card["data"] and "CC BY-SA 4.0" in card["data"]
    assert (DEFAULT_FOLDER / card["model"]).stat().st_size < 40_000_000
    assert set(card["fusion"]) <= set(FEATURES)


@pytest.mark.model
def test_shipped_reranker_puts_the_answering_sentence_first():
    r = Reranker()
    cases = [
        (
            "When did the museum reopen?",
            ["The museum reopened on 4 May 2021 after two years of repairs.", "The museum was designed by a local architect.", "Repairs to the roof were paid for by a lottery grant."],
        ),
        (
            "How many passengers were on board the ferry?",
            ["The ferry left the harbour late in the evening.", "There were 312 passengers on board the ferry when it sank.", "The captain had twenty years of experience."],
        ),
        (
            "Who chaired the committee?",
            ["The committee met twice in June.", "The committee was chaired by Maria Lopez, a former judge.", "Its report was published in the autumn."],
        ),
    ]
    for question, sentences in cases:
        s = r.scores(question, [pair_text("News", t) for t in sentences])
        assert s.shape == (3,) and np.isfinite(s).all()
        gold = next(i for i, t in enumerate(sentences) if any(w in t for w in ("4 May", "312", "Maria")))
        assert int(s.argmax()) == gold, (question, s)


@pytest.mark.model
def test_the_reader_reads_a_name_as_the_passage_writes_it():
    question = "When was the International Atomic Energy Agency established?"
    passages = [
        pair_text("IAEA and its director are awarded the Nobel Peace Prize",
                  "The IAEA, headquartered in Vienna and established in 1957, seeks to prevent nuclear proliferation."),
        pair_text("IAEA and its director are awarded the Nobel Peace Prize",
                  "The International Atomic Energy Agency and its director have been awarded the Nobel Peace Prize for 2005."),
    ]
    aligned = Reranker(align_names=True).read(question, passages)
    as_asked = Reranker(align_names=False).read(question, passages)
    assert aligned.answer is not None and as_asked.answer is not None
    assert aligned.answer[0] > 0.5 > as_asked.answer[0], (aligned.answer, as_asked.answer)
    assert int(np.argmax(aligned.logits)) == 0 != int(np.argmax(as_asked.logits))


@pytest.mark.model
def test_a_sentence_is_judged_on_itself_when_its_headline_holds_the_answer():
    title = "Cosmonaut Alexei Leonov dies at age 85"
    sentences = ["Leonov, also known as \"cosmonaut No. 11\", was part of the Soviet Union's original team of cosmonauts.", "He was 85."]
    passages = [pair_text(title, sentences[0]),
                pair_text(title, sentences[1], "Leonov was famous for performing the first human spacewalk as part of the Voskhod 2 mission.")]
    question = "How old was Leonov when he died?"
    under_headline = Reranker(judge_sentence=False).read(question, passages, sentences=sentences)
    judged = Reranker(judge_sentence=True).read(question, passages, sentences=sentences)
    assert under_headline.spans[0] is not None and under_headline.spans[0][0] < len(title)  # the answer it saw is the headline's
    assert judged.answer is not None and judged.answer[0] < 0.1 < judged.answer[1]
    assert int(np.argmax(judged.logits)) == 1
    start, end, _ = judged.spans[1]
    assert passages[1][start:end] == "85"


@pytest.mark.model
def test_a_sentence_too_long_for_one_reading_is_also_read_to_its_end():
    people = ["Ann Lee", "Bo Chan", "Carl Diaz", "Dina Roy", "Eve Park", "Finn Ortiz", "Gia Moss", "Hal Reyes", "Ida Kent", "Jon Bell", "Kai Ng",
              "Lea Voss", "Max Hart", "Nia Cole", "Omar Fay", "Pia Lund"]
    towns = ["Leeds", "Hull", "York", "Bath", "Derby", "Ely", "Wells", "Truro", "Ripon", "Exeter", "Chester", "Durham", "Lincoln", "Oxford", "Salford", "Preston"]
    members = ", ".join(f"{n} of {t}" for n, t in zip(people, towns)) + ", " + ", ".join(f"{n} from {t}" for n, t in zip(people, towns))
    sentence = f"The river board, whose members include {members}, voted on Tuesday to spend 40 million pounds on new flood defences along the Eden."
    question = "How much will the river board spend on flood defences?"
    passage = pair_text("River board approves flood defences", sentence)
    r = Reranker().warm_up()
    assert r.tokenizer.encode(question, passage).offsets[-2][1] < passage.index("40 million")  # one reading stops before the answer
    cut = r.read(question, [passage])  # without the sentence given, only what fits is read
    whole = r.read(question, [passage], sentences=[sentence])
    start, end, _ = whole.spans[0]
    assert passage[start:end] == "40 million"
    assert whole.answer is not None and cut.answer is not None
    assert whole.answer[0] > 0.5 and cut.answer[0] < 0.1
    assert whole.logits[0] > cut.logits[0]


def test_judged_on_replaces_only_the_verdicts_given():
    r = Reading(np.array([3.0, 2.0]), np.array([0.9, 0.5]), [(0, 4, 0.8), (10, 12, 0.7)])
    j = r.judged_on({0: (-1.0, 0.05, None)})
    assert j.logits.tolist() == [-1.0, 2.0] and j.answer.tolist() == [0.05, 0.5] and j.spans == [None, (10, 12, 0.7)]
    assert r.logits.tolist() == [3.0, 2.0]  # the original reading is unchanged
    assert r.judged_on({}) is r


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "reranker"
    shutil.copytree(DEFAULT_FOLDER, folder)
    return folder


def test_a_changed_byte_in_the_weights_is_refused(shipped_copy: Path):
    model = shipped_copy / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(RerankerProblem, match="sha256"):
        Reranker(shipped_copy).warm_up()


def test_missing_or_damaged_card_says_how_to_restore(shipped_copy: Path):
    card = shipped_copy / "reranker.json"
    card.write_text("{not json", encoding="utf-8")
    with pytest.raises(RerankerProblem, match="damaged"):
        Reranker(shipped_copy).warm_up()
    card.unlink()
    with pytest.raises(RerankerProblem, match="not found.*git checkout"):
        Reranker(shipped_copy).warm_up()


def test_a_card_with_a_bad_context_setting_is_damaged(shipped_copy: Path):
    card_path = shipped_copy / "reranker.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["context_words"] = "the previous sentence"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(RerankerProblem, match="damaged"):
        Reranker(shipped_copy).warm_up()


def test_unknown_fusion_feature_is_refused(shipped_copy: Path):
    card_path = shipped_copy / "reranker.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["fusion"] = {"telepathy": 1.0}
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(RerankerProblem, match="fusion"):
        Reranker(shipped_copy).warm_up()


def test_ask_with_a_broken_reranker_is_one_line(shipped_copy: Path, monkeypatch, capsys, tmp_path: Path):
    (shipped_copy / "model.onnx").write_bytes(b"truncated")
    monkeypatch.setenv("QA_RERANKER_DIR", str(shipped_copy))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "no-index"))
    code = main(["ask", "anything?"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "sha256" in err and "git checkout" in err


# --- citations after reranking ------------------------------------------------------------


def _hit(position: int, text: str, first_stage: float | None, dense: float = 0.5, bm25: float = 1.0):
    from qa.retrieve import Hit
    from qa.sentences import Sentence

    signals = {"dense": dense, "bm25": bm25}
    if first_stage is not None:
        signals["first_stage"] = first_stage
    return Hit(Sentence("a", position, 0, 0, len(text), text), 0.0, position, signals)


def test_first_stage_choice_is_quoted_second_when_the_reranker_overruled_it():
    from qa.answer import select
    from qa.settings import Settings

    overruled = [_hit(1, "Talks in Riyadh offer a stage.", 1.1, dense=0.6), _hit(2, "Lavrov and Rubio attended the talks.", 1.3, dense=0.3, bm25=0.1)]
    chosen = select(overruled, Settings())
    assert [h.position for h in chosen] == [1, 2]  # far below on cosine and BM25, still quoted
    agreed = [_hit(2, "Lavrov and Rubio attended the talks.", 1.3), _hit(1, "Talks in Riyadh offer a stage.", 1.1, dense=0.1, bm25=0.1)]
    assert [h.position for h in select(agreed, Settings())] == [2]  # no disagreement, no extra
    no_reranker = [_hit(1, "x y z", None), _hit(2, "p q r", None, dense=0.1, bm25=0.1)]
    assert [h.position for h in select(no_reranker, Settings())] == [1]
    assert [h.position for h in select(overruled, Settings(max_citations=1))] == [1]


def test_an_extra_quote_the_reader_is_sure_does_not_answer_is_left_out():
    from qa.answer import select
    from qa.settings import Settings

    def read(hit, p):
        hit.signals["answer_prob"] = p
        return hit

    top = read(_hit(1, "Talks in Riyadh offer a stage.", 1.1, dense=0.6), 0.9)
    first_stage = read(_hit(2, "Lavrov and Rubio attended the talks.", 1.3, dense=0.3, bm25=0.1), 0.01)
    close = read(_hit(3, "The talks in Riyadh began on Tuesday.", 1.0, dense=0.59), 0.02)
    assert [h.position for h in select([top, first_stage, close], Settings())] == [1]  # both under 0.05 x 0.9
    assert [h.position for h in select([top, first_stage, close], Settings(extra_prob_ratio=0.0))] == [1, 2, 3]
    first_stage.signals["answer_prob"], close.signals["answer_prob"] = 0.05, 0.3
    assert [h.position for h in select([top, first_stage, close], Settings())] == [1, 2, 3]  # a share the reader is unsure of
    unsure = read(_hit(1, "Talks in Riyadh offer a stage.", 1.1, dense=0.6), 0.1)
    first_stage.signals["answer_prob"] = 0.01
    assert [h.position for h in select([unsure, first_stage], Settings())] == [1, 2]  # 0.01 >= 0.05 x 0.1
    unread = _hit(3, "The talks in Riyadh began on Tuesday.", 1.0, dense=0.59)
    assert [h.position for h in select([top, unread], Settings())] == [1, 3]  # not read: the cosine and BM25 rule alone


class _ReadsStorms:
    """Stands in for the reader: a sentence about a storm reads 10, anything else 0."""

    weights = {"rerank": 1.0}
    context_words = 0

    def __init__(self) -> None:
        self.questions: list[str] = []
        self.passages: list[list[str]] = []

    def read(self, question: str, passages: list[str], sentences: list[str] | None = None) -> Reading:
        self.questions.append(question)
        self.passages.append(passages)
        return Reading(np.array([10.0 if "storm" in p.lower().rsplit(": ", 1)[-1] else 0.0 for p in passages]), None, [None] * len(passages))


def test_a_question_about_now_reads_without_time_words_and_answers_from_the_newest_relevant_article(tmp_path: Path, fake_embedder):
    from qa.build import build_index
    from qa.seeds import read_seeds

    seeds = tmp_path / "s"
    seeds.mkdir()
    for day, text in [("2010-08-23", "A storm hit Florida. Winds were strong."), ("2019-09-16", "Officials counted the damage. A storm hit the Azores."),
                      ("2020-11-07", "Fans cheered the team. The team won the cup.")]:
        (seeds / f"{day}_story.txt").write_text(f"Date: {day}\n\n{text}\n", encoding="utf-8")
    build_index(read_seeds(seeds), tmp_path / "i", fake_embedder)
    reader = _ReadsStorms()
    hits = Retriever(load_index(tmp_path / "i"), fake_embedder, reranker=reader, rerank_depth=6).search("Where did the latest storm hit?", k=5)
    assert hits[0].sentence.text == "A storm hit the Azores."  # the newest storm, not the newest article (the cup)
    assert hits[1].sentence.text == "Officials counted the damage."  # then the rest of that article, its lede first
    assert all("latest" not in q for q in reader.questions) and reader.questions[0] == "Where did the storm hit?"


def test_a_question_about_now_reads_each_candidate_articles_lede(tmp_path: Path, fake_embedder):
    """News writes its first sentence to say what happened: it is read even when the first
    stage ranks other sentences of its article higher."""
    from qa.build import build_index
    from qa.seeds import read_seeds

    seeds = tmp_path / "s"
    seeds.mkdir()
    for day, text in [("2010-08-23", "A storm hit Florida. Winds were strong."),
                      ("2019-09-16", "Officials met on Monday. The storm hit the Azores. The storm hit the harbour. Storm winds hit the storm walls.")]:
        (seeds / f"{day}_story.txt").write_text(f"Date: {day}\n\n{text}\n", encoding="utf-8")
    build_index(read_seeds(seeds), tmp_path / "i", fake_embedder)
    reader = _ReadsStorms()
    Retriever(load_index(tmp_path / "i"), fake_embedder, reranker=reader, rerank_depth=6).search("Where did the latest storm hit?", k=5)
    first_read = reader.passages[0]  # the candidate articles' readings, before the chosen article's own
    assert any(p.endswith("Officials met on Monday.") for p in first_read), first_read
    assert not any(p.endswith("Storm winds hit the storm walls.") for p in first_read)  # third of its article, not its lede


def test_an_untitled_articles_topic_is_its_first_sentence_not_its_header(tmp_path: Path, fake_embedder):
    from qa.build import build_index
    from qa.seeds import read_seeds

    seeds = tmp_path / "s"
    seeds.mkdir()
    (seeds / "story.txt").write_text("Date: 2019-09-16\n\nOfficials met on Monday in the port. A storm hit the Azores.\n", encoding="utf-8")
    build_index(read_seeds(seeds), tmp_path / "i", fake_embedder)
    retriever = Retriever(load_index(tmp_path / "i"), fake_embedder, reranker=_ReadsStorms(), rerank_depth=6)
    assert retriever.passage(1) == "Officials met on Monday in the port.: A storm hit the Azores."
