from __future__ import annotations

import pytest

from qa.articles import parse_article
from qa.seeds import read_seeds
from qa.sentences import split_article
from tests.conftest import SEEDS


def _split(text: str) -> list[str]:
    return [s.text for s in split_article(parse_article("t", text))]


@pytest.mark.parametrize(
    "text, expected",
    [
        # a date with an abbreviated month is not a sentence end
        ("They met on Tuesday, Feb. 18, 2025. The talks lasted five hours.",
         ["They met on Tuesday, Feb. 18, 2025.", "The talks lasted five hours."]),
        # a photo credit in parentheses belongs to its caption
        ("Rubio sits next to Waltz in Riyadh, Tuesday, Feb. 18, 2025. (Evelyn Hockstein/Pool Photo via AP)",
         ["Rubio sits next to Waltz in Riyadh, Tuesday, Feb. 18, 2025. (Evelyn Hockstein/Pool Photo via AP)"]),
        # closing quotes stay with their sentence
        ("“We seek peace,” he said. “It must last.” Then he left.",
         ["“We seek peace,” he said.", "“It must last.”", "Then he left."]),
        # US and U.S. are not sentence ends
        ("The U.S. team arrived. US officials spoke later.",
         ["The U.S. team arrived.", "US officials spoke later."]),
        ("Gov. Ann Keane and Dr. Lee spoke. Mr. Reed did not.",
         ["Gov. Ann Keane and Dr. Lee spoke.", "Mr. Reed did not."]),
        # a question inside quotes ends the sentence
        ("“Why would they pass up the opportunities?” Tuesday’s talks went on.",
         ["“Why would they pass up the opportunities?”", "Tuesday’s talks went on."]),
    ],
)
def test_hard_cases(text, expected):
    assert _split(text) == expected


def test_sentences_never_cross_paragraphs():
    sents = split_article(parse_article("t", "One. First paragraph ends here\n\nSecond one starts here. And goes on."))
    assert [s.paragraph for s in sents] == [0, 0, 1, 1]
    assert sents[1].text == "First paragraph ends here"


def test_offsets_index_the_original_text():
    article = read_seeds(SEEDS).articles[0]
    sents = split_article(article)
    for s in sents:
        assert article.text[s.start:s.end] == s.text
        assert s.text == s.text.strip()
    assert [s.index for s in sents] == list(range(len(sents)))


def test_seed_split_checked_by_eye():
    sents = split_article(read_seeds(SEEDS).articles[0])
    texts = [s.text for s in sents]
    assert len(sents) == 50
    # both photo captions end with their credit, in one sentence each
    captions = [t for t in texts if t.endswith("(Evelyn Hockstein/Pool Photo via AP)")]
    assert len(captions) == 2 and all("Feb. 18, 2025." in t for t in captions)
    assert texts[-1].startswith("Still, the security talks in Paris")  # the byline is not a sentence
    assert not any(t.startswith("- The Guardian") for t in texts)
    who = next(t for t in texts if t.startswith("Russia’s foreign minister, Sergei Lavrov"))
    assert who.endswith("special envoy to the Middle East.")


def test_over_long_sentences_are_cut_at_spaces_and_offsets_hold():
    from qa.articles import parse_article
    from qa.sentences import MAX_SENTENCE_CHARS, split_article

    text = "Intro sentence here. Then " + " ".join(["word"] * 1200) + " end. Short tail sentence."
    article = parse_article("long.txt", text)
    cut: list[int] = []
    sents = split_article(article, cut)
    assert cut and all(len(s.text) <= MAX_SENTENCE_CHARS for s in sents)
    assert all(article.text[s.start : s.end] == s.text for s in sents)
    assert sents[0].text == "Intro sentence here." and sents[-1].text == "Short tail sentence."
    assert " ".join(s.text for s in sents[1:-1]).split() == ("Then " + " ".join(["word"] * 1200) + " end.").split()
    assert len(split_article(article, limit=None)) == 3  # uncapped: the run stays one sentence
