"""Training groups: one per question, the same every time it is drawn.

An answerable question gives a ranking group: its gold sentence first, then negatives in
this order until the group is full: the first stage's best hits (mined, qa.training.squad),
the gold sentence's neighbour in its paragraph (the sentence a reader most often confuses
with the answer: "It was renamed …" after "In 1990, X …"), a sentence from another article
of the same bucket, then more mined hits. A sentence that contains the answer text is never
a negative. All sentences get an answer label (1 for the gold one) and the gold one a span.

A reader trained with context (`context` words) reads each sentence after the start of the
previous sentence of its paragraph (qa.rerank.pair_text), as the product then does: "He
returned in 1295." names nobody, its predecessor names Marco Polo. The neighbour that follows
the gold sentence stays a negative although its context holds the answer: the reader learns
to quote the sentence that answers, not the one after it.

Headlines (`headlines`, a share of the groups, chosen by question id): SQuAD's titles are a
few words ("Super_Bowl_50"), a news article's is a sentence that states the story's main fact
("Cosmonaut Alexei Leonov dies at age 85"), and a reader taught only on the former took that
fact for every sentence's answer (what `QA_JUDGE_SENTENCE` patches at inference) and read a
name the headline gave as missing from the sentence under it. Such a group reads each
sentence under its article's first sentence, clipped to HEADLINE_WORDS words, as a headline
(the first sentence itself keeps the title). Validation always reads the plain titles.

A perturbed question (qa.training.perturb) gives an answerability-only group: the gold
sentence and the mined hits, all labelled 0, no ranking and no span loss.

Each group's random choices come from an RNG seeded by (seed, question id, kind), so a
resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from qa.rerank import clip_context, pair_text
from qa.sentences import paragraph_around
from qa.training.perturb import perturb, pools
from qa.training.squad import Corpus, norm

ANSWERABLE, PERTURBED = "answerable", "perturbed"
HEADLINE_WORDS = 12


@dataclass(frozen=True)
class Group:
    question: str
    texts: tuple[str, ...]  # second segments ("title: sentence")
    labels: tuple[float, ...]  # 1.0: this sentence answers the question
    ranked: bool  # texts[0] is the positive of a listwise group
    span: tuple[int, int] | None  # answer characters inside texts[0]


def plan(corpus: Corpus, seed: int, perturbed_every: int = 4) -> list[tuple[int, str]]:
    """(question number, kind) for every training question of the non-validation articles,
    shuffled; every `perturbed_every`-th question (by id) also gets a perturbed item."""
    items: list[tuple[int, str]] = []
    for n, q in enumerate(corpus.questions):
        if q.article in corpus.validation:
            continue
        items.append((n, ANSWERABLE))
        if perturbed_every and q.qid % perturbed_every == 0:
            items.append((n, PERTURBED))
    random.Random(seed).shuffle(items)
    return items


class GroupMaker:
    """Turns (question number, kind) into a Group, from the corpus and the mined hits."""

    def __init__(self, corpus: Corpus, mined: dict[int, list[list[int]]], size: int = 8, seed: int = 13, context: int = 0,
                 headlines: float = 0.0) -> None:
        self.corpus = corpus
        self.mined = mined
        self.size = size
        self.seed = seed
        self.context = context  # words of the previous sentence read before each sentence; 0: none
        self.headlines = headlines  # share of the groups read under headline-like titles
        self._pools = lru_cache(maxsize=64)(lambda a: pools(corpus.articles[a].text))

    def _before(self, a: int, s: int) -> str:
        sents = self.corpus.sentences[a]
        if not self.context or s == 0 or sents[s - 1].paragraph != sents[s].paragraph:
            return ""
        return clip_context(sents[s - 1].text, self.context)

    def _title(self, a: int, s: int, headline: bool = False) -> str:
        sents = self.corpus.sentences[a]
        if headline and s > 0 and sents:
            return clip_context(sents[0].text, HEADLINE_WORDS).rstrip(" .")
        return self.corpus.title(a)

    def _text(self, a: int, s: int, headline: bool = False) -> str:
        return pair_text(self._title(a, s, headline), self.corpus.sentences[a][s].text, self._before(a, s))

    def _headline(self, qid: int) -> bool:
        """Whether this question's group reads headlines (its own RNG: the other draws stay as they were)."""
        return self.headlines > 0 and random.Random(f"{self.seed}:{qid}:headline").random() < self.headlines

    def _bucket_of(self, a: int) -> list[int]:
        return next((b for b in self.corpus.buckets if a in b), [a])

    def make(self, n: int, kind: str) -> Group | None:
        c = self.corpus
        q = c.questions[n]
        rng = random.Random(f"{self.seed}:{q.qid}:{kind}")
        gold = (q.article, q.gold)
        gold_sentence = c.sentences[q.article][q.gold]
        answers = [f" {norm(a)} " for a in q.answers if norm(a)]

        def usable(a: int, s: int) -> bool:
            text = f" {norm(c.sentences[a][s].text)} "
            return (a, s) != gold and not any(x in text for x in answers)

        mined: list[tuple[int, int]] = [(h[0], h[1]) for h in self.mined.get(q.qid, []) if usable(h[0], h[1])]
        headline = self._headline(q.qid)
        if kind == PERTURBED:
            article = c.articles[q.article]
            ps, pe = paragraph_around(article.text, gold_sentence.start, gold_sentence.end)
            made = perturb(q.question, gold_sentence.text, article.text[ps:pe], self._pools(q.article), rng)
            if made is None:
                return None
            chosen = [gold] + mined[: self.size // 2 - 1]
            return Group(made[0], tuple(self._text(*x, headline) for x in chosen), tuple(0.0 for _ in chosen), False, None)
        negatives: list[tuple[int, int]] = []

        def add(x: tuple[int, int]) -> None:
            if x not in negatives and len(negatives) < self.size - 1:
                negatives.append(x)

        for x in mined[: max(1, self.size - 3)]:
            add(x)
        sents = c.sentences[q.article]
        near = [i for i in (q.gold - 1, q.gold + 1) if 0 <= i < len(sents) and sents[i].paragraph == gold_sentence.paragraph and usable(q.article, i)]
        if near:
            add((q.article, rng.choice(near)))
        others = [a for a in self._bucket_of(q.article) if a != q.article] or [a for a in range(len(c.articles)) if a != q.article]
        if others:
            a = rng.choice(others)
            if c.sentences[a]:
                add((a, rng.randrange(len(c.sentences[a]))))
        for x in mined:
            add(x)
        if not negatives:
            return None
        chosen = [gold, *negatives]
        prefix = len(pair_text(self._title(q.article, q.gold, headline), "", self._before(q.article, q.gold)))
        span = (q.span[0] + prefix, q.span[1] + prefix)
        return Group(q.question, tuple(self._text(*x, headline) for x in chosen), (1.0,) + (0.0,) * len(negatives), True, span)
