"""Citable units: a quoted sentence with the sentences it cannot be read without.

A reply quotes sentences, but a sentence is not always a unit of meaning: "He was 85." needs
the sentence that names him; a quotation runs across sentences to its attribution ("“We seek
a strong and lasting peace in Ukraine. To achieve this, …,” Macron wrote on X."); and the
answer is often the sentence after the one that names the subject ("They are surrounded by a
lipid monolayer."). `with_units` adds those neighbours to the reply's quotes, each cited and
highlighted. Why and how each rule was measured: docs/design.md, "The sentence and the one it
depends on".
"""

from __future__ import annotations

import re

from qa import news
from qa.retrieve import Hit
from qa.sentences import Sentence

_LEANS_BACK = re.compile(
    r"^(?:He|She|It|They|This|That|These|Those|His|Her|Its|Their|The (?:company|site|group|agency|element|city|country|"
    r"team|band|film|album|organi[sz]ation|party|government|state|region|area|building|project|plan|deal|agreement|move|decision|"
    r"report|study|book|song|event|attack|war|law|bill|court|firm|church|school|university|station|club))\b"
)


def _quote_balance(text: str) -> int:
    """Opening minus closing typographic quotes: > 0 a quotation runs on, < 0 it began earlier."""
    return text.count("“") - text.count("”")


def _pair_signals(signals: dict[str, float]) -> dict[str, float]:
    """What the reader said of the sentence after a quote (qa.retrieve.Retriever._with_next), as
    that sentence's own signals: "pair_prob" and its answer span."""
    out = {"pair_prob": signals["next_prob"]}
    out.update({k[len("next_"):]: v for k, v in signals.items() if k.startswith("next_span_")})
    return out


def with_units(chosen: list[Hit], sentences: list[Sentence], limit: int, pair_share: float = 0.0) -> list[Hit]:
    """Each quoted sentence with the sentences it cannot be read without, in reading order:
    the sentence before one that opens with "He", "It", "This", "The company" (the one that
    names them), the rest of a quotation that runs across sentences ("“We seek a strong
    and lasting peace in Ukraine. To achieve this, …,” Macron wrote on X."), and the sentence
    after it when the reader, reading that one after it, gives it more than `pair_share` of
    its own answer probability (signal "next_prob", qa.retrieve.Retriever._with_next: "What
    surrounds plastoglobuli?" is answered by "They are surrounded by a lipid monolayer.",
    the sentence after the one that names them)."""

    def same_paragraph(i: int, j: int) -> bool:
        return 0 <= j < len(sentences) and sentences[j].article_id == sentences[i].article_id and sentences[j].paragraph == sentences[i].paragraph

    def to_its_end(i: int, j: int, after: list[int], most: int) -> None:
        """A quotation open at sentence j goes on (to its attribution), within i's paragraph."""
        balance = _quote_balance(sentences[j].text)
        while balance > 0 and same_paragraph(i, j + 1) and len(after) < most:
            j += 1
            balance += _quote_balance(sentences[j].text)
            after.append(j)

    out: list[Hit] = []
    taken = {h.position for h in chosen}
    for hit in chosen:
        i = hit.position
        before: list[int] = []
        after: list[int] = []
        if _LEANS_BACK.match(hit.sentence.text) and same_paragraph(i, i - 1):
            before.append(i - 1)
        balance = _quote_balance(hit.sentence.text)
        j = i
        while balance < 0 and same_paragraph(i, j - 1) and len(before) < 3:  # the quotation began earlier
            j -= 1
            balance += _quote_balance(sentences[j].text)
            if j not in before:
                before.append(j)
        to_its_end(i, i, after, 3)
        if (pair_share > 0 and hit.signals.get("next_prob", 0.0) > pair_share * hit.signals.get("answer_prob", 1.0)
                and same_paragraph(i, i + 1) and i + 1 not in after and not news.sentence_kind(sentences[i + 1].text)):
            after.append(i + 1)
            to_its_end(i, i + 1, after, 4)  # the pair may open a quotation too
        for k in sorted(set(before)):
            if k not in taken:
                out.append(Hit(sentences[k], hit.score, k, {"unit_of": float(i)}))
                taken.add(k)
        out.append(hit)
        paired = {i + 1: _pair_signals(hit.signals)} if "next_prob" in hit.signals else {}  # the reader read it
        for k in after:
            if k not in taken:
                out.append(Hit(sentences[k], hit.score, k, {"unit_of": float(i), **paired.get(k, {})}))
                taken.add(k)
    return out[: max(limit, len(chosen))]
