"""Question -> ranked sentences: BM25 and MiniLM, each on the sentence and on its context, fused.

Candidates are the union of the top dense hits (FAISS) and the top BM25 hits. Each
candidate gets four signals: its own BM25 score, its own cosine, and the same two for its
context window (the sentence plus 0.3 x each neighbour in the same paragraph). The context
signals matter because a question often repeats words of the sentence before the one that
answers it ("In 1990, X ... . It was renamed ..."). Each signal is standardised over the
candidates (z-scores) and the four are added with weights. Reciprocal rank fusion is kept
as an option (`Fusion.RRF`, the baseline): it discards how far ahead the best match is,
which cost 4 points of R@1 on SQuAD-13. Weights and the comparison: docs/design.md.

With a reranker (qa/rerank.py), the fused best `rerank_depth` candidates are rescored by the
cross-encoder and re-sorted; the fused score stays in signals["first_stage"].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from qa import news
from qa.embed import Embedder
from qa.index import Index
from qa.rerank import Reranker, clip_context, features, fuse, pair_text, rrf, zscore
from qa.sentences import Sentence
from qa.settings import Mode, Settings

RETRIEVERS = tuple(m.value for m in Mode)


class Fusion(str, Enum):
    """How the signals are put on one scale before they are added."""

    ZSCORE = "zscore"  # standardised scores over the candidates
    RRF = "rrf"  # reciprocal ranks (the baseline)


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the four signals, and how they are put on one scale."""

    bm25: float = 1.0
    dense: float = 1.5
    bm25_context: float = 0.3
    dense_context: float = 0.3
    neighbour_weight: float = 0.3  # weight of each neighbour inside a context window
    method: Fusion = Fusion.ZSCORE


@dataclass(frozen=True)
class Hit:
    """One ranked sentence, with the score it was ranked by and the signals behind it."""

    sentence: Sentence
    score: float
    position: int  # row in the index
    signals: dict[str, float] = field(default_factory=dict)


def _topic(article: dict) -> str:
    """What the reranker reads before each sentence: the article's title, else the first 8 words
    of its first sentence (a news lede names the story; never a "Date: …" header). Trained on
    "title: sentence" pairs; sentences alone lost 2 of the 46 answerable seed questions."""
    lede = str(article.get("display_title") or article.get("text", "")).rstrip("…")
    return article.get("title") or " ".join(lede.split()[:8])


class Retriever:
    """Ranks the sentences of one loaded index for a question."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        mode: str = Settings.retriever,
        candidates: int = Settings.candidates,
        weights: FusionWeights = FusionWeights(),
        reranker: Reranker | None = None,
        rerank_depth: int = Settings.rerank_depth,
        hop_depth: int = 0,
        follow_depth: int = Settings.follow_depth,
        deeper: int = 0,
        deeper_below: float = Settings.deeper_below,
        pair_share: float = 0.0,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.mode = Mode.parse(mode)
        self.candidates = candidates
        self.weights = weights
        self.reranker = reranker if rerank_depth > 0 else None
        self.rerank_depth = rerank_depth
        self.hop_depth = hop_depth
        self.follow_depth = follow_depth
        self.deeper = deeper
        self.deeper_below = deeper_below
        self.pair_share = pair_share
        self._prev, self._next = self._neighbour_rows(index.sentences)
        self._recency = news.recency_map(index.articles)
        self._article_of = np.array([s.article_id for s in index.sentences], dtype=object)
        self._headlines: dict[str, np.ndarray] = {}

    @classmethod
    def configured(cls, index: Index, embedder: Embedder, settings: Settings, reranker: Reranker | None = None,
                   weights: FusionWeights = FusionWeights()) -> Retriever:
        """The retriever the product runs with these settings (the reader when depth > 0)."""
        return cls(index, embedder, mode=settings.retriever, candidates=settings.candidates, weights=weights,
                   reranker=reranker, rerank_depth=settings.rerank_depth, hop_depth=settings.hop_depth,
                   follow_depth=settings.follow_depth, deeper=settings.deeper, deeper_below=settings.deeper_below,
                   pair_share=settings.pair_share)

    @staticmethod
    def _neighbour_rows(sentences: list[Sentence]) -> tuple[np.ndarray, np.ndarray]:
        """Row of the previous/next sentence in the same paragraph, or -1."""
        prev, nxt = np.full(len(sentences), -1, dtype=np.int64), np.full(len(sentences), -1, dtype=np.int64)
        for i in range(1, len(sentences)):
            a, b = sentences[i - 1], sentences[i]
            if a.article_id == b.article_id and a.paragraph == b.paragraph:
                prev[i] = i - 1
                nxt[i - 1] = i
        return prev, nxt

    def with_coverage(self, query: str, hits: list[Hit]) -> list[Hit]:
        """The same hits with signals["coverage"]: the share of the query's terms in each sentence."""
        if not hits:
            return hits
        q_terms, *sent_terms = self.index.terms([query] + [h.sentence.text for h in hits])
        return [
            replace(h, signals={**h.signals, "coverage": len(q_terms & terms) / len(q_terms) if q_terms else 0.0})
            for h, terms in zip(hits, sent_terms)
        ]

    def embed_query(self, query: str) -> np.ndarray:
        return self.embedder.encode([query])[0]

    def search(self, query: str, k: int = 10, query_vector: np.ndarray | None = None, allowed: np.ndarray | None = None,
               read_as: str | None = None) -> list[Hit]:
        """The k best sentences for `query`, best first.

        Args:
            query: the (already contextualised) question.
            k: how many hits to return.
            query_vector: its embedding, when the caller already has it.
            allowed: a mask over the index's sentences (`Filters.mask`): only these may be returned.
            read_as: what the reader reads instead of `query` (qa.query.reader_query), if anything.
        """
        n = len(self.index)
        if n == 0 or not query.strip() or (allowed is not None and not allowed.any()):
            return []
        if self.reranker is not None and self._recency and news.RECENT_RE.search(query):
            return self._with_next(news.strip_recency(query), self.newest_first(query, k, allowed))  # embeds the question without its time words
        if self.mode == "hybrid" and query_vector is None:
            query_vector = self.embed_query(query)
        if self.reranker is None:
            hits = self.first_stage(query, k, query_vector, allowed)
        else:
            pool, read = self.reading_pool(query, max(k, self.rerank_depth + self.deeper), query_vector, allowed)
            hits = self.rerank(read_as or query, pool, k, depth=read, deeper=self.deeper)
        if self.hop_depth > 0 and self.mode == Mode.HYBRID and query_vector is not None:
            hits = self.second_hop(query, query_vector, hits, k)
        # Time and echoes (qa/news.py), over the hits whose scores share one scale.
        return self._with_next(read_as or query, news.adjust(query, hits, self._recency, self.rerank_depth if self.reranker is not None else k))

    def reading_pool(self, query: str, k: int, query_vector: np.ndarray | None, allowed: np.ndarray | None) -> tuple[list[Hit], int]:
        """The first stage's best k hits arranged for the reader, and how many of them it reads:
        the best `rerank_depth`, then the next sentence of each of the best `follow_depth`
        (same paragraph, not already read), with its own first-stage score and signals. A
        sentence that answers without naming its subject ("The 22-mile journey took 22
        minutes") follows the one that names it, and the first stage ranks it far down; the
        reader sees it beside its article's title (and, if trained so, after its predecessor)."""
        if not self.follow_depth:
            return self.first_stage(query, k, query_vector, allowed), self.rerank_depth
        wide = self.first_stage(query, max(k, self.candidates), query_vector, allowed)  # as many as one signal's candidates
        read = wide[: self.rerank_depth]
        taken = {h.position for h in read}
        by_row = {h.position: h for h in wide}
        for h in wide[: self.follow_depth]:
            nxt = int(self._next[h.position])
            if nxt >= 0 and nxt not in taken and nxt in by_row:
                read.append(by_row[nxt])
                taken.add(nxt)
        rest = [h for h in wide if h.position not in taken][: max(0, k - len(read))]
        return read + rest, len(read)

    def newest_first(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """A question about now ("Where did the latest earthquake strike?") in a dated collection.

        The time words are taken out ("Where did the earthquake strike?": kept in, the reader
        favoured a sentence saying "the most recent hurricane to reach Bermuda … in 2014").
        The best `RECENT_PER_ARTICLE` sentences and the lede of each of the first stage's best
        `RECENT_ARTICLES` articles are read (ranked by a first stage over those articles alone,
        so that the lede has a score on their scale); the articles whose best reading is within
        `RECENT_MARGIN` of the best one, whose headline is close to the question
        (`headline_cosines`) and that mention what the question names, are the relevant ones,
        and the newest of them answers: its own best sentences come first
        (reranked within it, its lede favoured by `LEDE`), then the other articles' readings.
        The first hits carry how many articles were relevant ("newest_of"), for the reply's
        note. Without a reader, time is only a boost (news.adjust), as a first-stage score
        cannot tell an article about the event from one that shares its words.
        """
        plain = news.strip_recency(query)
        qvec = self.embed_query(plain) if self.mode == Mode.HYBRID else None
        candidates: list[str] = []
        for h in self.first_stage(plain, news.RECENT_POOL, qvec, allowed):
            if h.sentence.article_id not in candidates and len(candidates) < news.RECENT_ARTICLES:
                candidates.append(h.sentence.article_id)
        if not candidates:
            return []
        among_these = np.isin(self._article_of, candidates)
        if allowed is not None:
            among_these &= allowed
        per: dict[str, list[Hit]] = {}
        for h in self.first_stage(plain, int(among_these.sum()), qvec, among_these):  # one scale for their sentences
            hs = per.setdefault(h.sentence.article_id, [])
            if len(hs) < news.RECENT_PER_ARTICLE or h.sentence.index == 0:
                hs.append(h)
        read = self.rerank(plain, sorted((h for hs in per.values() for h in hs), key=lambda h: -h.score), k=10**6, depth=10**6)
        best: dict[str, Hit] = {}
        for h in read:
            best.setdefault(h.sentence.article_id, h)
        headline = self.headline_cosines(list(best), qvec) if qvec is not None else None
        chosen, among = news.newest_relevant(plain, list(best.values()), self._recency, self.index.articles, headline)
        inside = (self._article_of == chosen) & (allowed if allowed is not None else True)
        ranked = self.first_stage(plain, int(inside.sum()), qvec, inside)  # its lede is read even when ranked low
        first = self.rerank(plain, ranked[: self.rerank_depth] + [h for h in ranked[self.rerank_depth :] if h.sentence.index == 0][:1], k)
        first = sorted((replace(h, score=h.score + news.LEDE) if h.sentence.index == 0 else h for h in first), key=lambda h: -h.score)
        first = [replace(h, signals={**h.signals, "newest_of": float(among)}) for h in first]  # for the reply's note
        rest = [h for h in read if h.sentence.article_id != chosen]
        return (news.adjust(query, first, {}, len(first)) + news.adjust(query, rest, {}, len(rest)))[:k]

    def headline_cosines(self, article_ids: list[str], qvec: np.ndarray) -> dict[str, float]:
        """Cosine of the question and each article's headline (`_topic`), embedded once per index."""
        todo = [a for a in article_ids if a not in self._headlines]
        if todo:
            vectors = self.embedder.encode([_topic(self.index.articles.get(a, {})) for a in todo])
            self._headlines.update(zip(todo, np.asarray(vectors, dtype=np.float32)))
        return {a: float(self._headlines[a] @ qvec) for a in article_ids}

    def second_hop(self, query: str, qvec: np.ndarray, hits: list[Hit], k: int) -> list[Hit]:
        """Puts second the best sentence for the question *plus* the best hit.

        A two-step question ("the director of Big Stone Gap is based in what city?") needs a
        sentence that shares little with the question and much with the first answer
        ("Adriana Trigiani … is based in Greenwich Village"). The question is asked again with
        the best hit's sentence appended (its stored vector added to the question's, so no
        second embedding), the best `hop_depth` of that search are reranked, and the best one
        not already first or second goes second. Its signals are the question's own, so
        citation choice and abstention judge it against the question.
        """
        if not hits:
            return hits
        first = hits[0]
        v = qvec + np.asarray(self.index.vectors[first.position])
        v = v / (np.linalg.norm(v) or 1.0)
        query2 = f"{query} {first.sentence.text}"
        shown = {h.position for h in hits[:2]}
        cands = [h for h in self.first_stage(query2, self.hop_depth + 2, v) if h.position not in shown][: self.hop_depth]
        if not cands:
            return hits
        best = self.rerank(query2, cands, 1)[0] if self.reranker is not None else cands[0]
        bm25 = self.index.bm25_scores(query)
        extra = Hit(
            best.sentence,
            hits[1].score if len(hits) > 1 else first.score,
            best.position,
            {"bm25": float(bm25[best.position]), "dense": float(np.asarray(self.index.vectors[best.position]) @ qvec), "hop": 2.0},
        )
        return ([first, extra] + [h for h in hits[1:] if h.position != best.position])[:k]

    def passage(self, row: int) -> str:
        """What the reranker reads for the sentence in `row`: its article's title, the previous
        sentence of its paragraph when the reader was trained with that context, the sentence."""
        sentence = self.index.sentences[row]
        title = _topic(self.index.articles.get(sentence.article_id, {}))
        words = self.reranker.context_words if self.reranker is not None else 0
        before = clip_context(self.index.sentences[self._prev[row]].text, words) if words and self._prev[row] >= 0 else ""
        return pair_text(title, sentence.text, before)

    def rerank(self, query: str, hits: list[Hit], k: int, depth: int | None = None, deeper: int = 0) -> list[Hit]:
        """Rescores the best `depth` (default `rerank_depth`) hits with the cross-encoder, and
        the next `deeper` too when none of those likely answers (best answer probability below
        `deeper_below`: the answer is often just past the first stage's best); returns the best k."""
        depth = self.rerank_depth if depth is None else depth
        top = hits[:depth]
        reranker = self.reranker
        if not top or reranker is None:
            return hits[:k]
        passages = [self.passage(h.position) for h in top]
        reading = reranker.read(query, passages, sentences=[h.sentence.text for h in top])
        more = hits[depth : depth + deeper]
        if more and reading.answer is not None and float(reading.answer.max()) < self.deeper_below:
            extra = [self.passage(h.position) for h in more]
            reading = reading.joined(reranker.read(query, extra, sentences=[h.sentence.text for h in more]))
            top, passages, depth = top + more, passages + extra, depth + len(more)
        logits = reading.logits
        feats = features(query, np.array([h.score for h in top]), [h.signals for h in top], [h.sentence.text for h in top], logits, reading.answer)
        final = fuse(feats, reranker.weights)
        order = np.argsort(-final, kind="stable")
        reranked = [
            Hit(top[o].sentence, float(final[o]), top[o].position,
                {**top[o].signals, "first_stage": top[o].score, "rerank": float(logits[o]), **reading.signals(int(o), passages[o], top[o].sentence.text)})
            for o in order
        ]
        return (reranked + hits[depth:])[:k]

    def _with_next(self, query: str, hits: list[Hit]) -> list[Hit]:
        """The hits, the best one with the reader's answer probability for the next sentence of
        its paragraph (signal "next_prob", when pairing is on and the reader read the best one),
        read with the best one before it as its context: the answer is often the sentence after
        the one that names the subject, which the first stage ranks far down, and the reply
        then quotes the two together (qa.units.with_units). Its answer span comes along
        ("next_span_start", "next_span_end", "next_span_prob"), for the short answer when the
        next sentence answers better than the best one."""
        if not hits or self.pair_share <= 0 or self.reranker is None or "answer_prob" not in hits[0].signals:
            return hits
        row = int(self._next[hits[0].position])
        if row < 0:
            return hits
        read = next((h.signals for h in hits if h.position == row and "answer_prob" in h.signals), None)
        if read is None:
            passage, sentence = self.passage(row), self.index.sentences[row].text
            read = self.reranker.read(query, [passage], sentences=[sentence]).signals(0, passage, sentence)
        found = {"next_prob": float(read.get("answer_prob", 0.0))}
        found.update({"next_" + k: float(read[k]) for k in ("span_start", "span_end", "span_prob") if k in read})
        return [replace(hits[0], signals={**hits[0].signals, **found}), *hits[1:]]

    def first_stage(self, query: str, k: int, query_vector: np.ndarray | None = None, allowed: np.ndarray | None = None) -> list[Hit]:
        """The k best sentences by the fused BM25/MiniLM signals alone (no reranker), among the
        `allowed` ones when a filter is set (their cosines then come from the stored vectors)."""
        n = len(self.index)
        if self.mode == Mode.BM25:
            bm25_all = self.index.bm25_scores(query)
            if allowed is not None:
                bm25_all = np.where(allowed, bm25_all, -np.inf)
            top = [i for i in np.argsort(-bm25_all, kind="stable")[:k] if np.isfinite(bm25_all[i])]
            return [Hit(self.index.sentences[i], float(bm25_all[i]), int(i), {"bm25": float(bm25_all[i])}) for i in top]
        qvec = query_vector if query_vector is not None else self.embed_query(query)
        if allowed is None:
            dense_ids, dense_scores = self.index.dense_search(qvec, min(n, max(k, self.candidates)))
        else:
            rows = np.flatnonzero(allowed)
            cos = np.asarray(self.index.vectors[rows]) @ qvec
            best = np.argsort(-cos, kind="stable")[: max(k, self.candidates)]
            dense_ids, dense_scores = rows[best], cos[best]
        if self.mode == Mode.DENSE:
            return [Hit(self.index.sentences[i], float(s), int(i), {"dense": float(s)}) for i, s in zip(dense_ids[:k], dense_scores[:k])]
        return self._fuse(qvec, self.index.bm25_scores(query), dense_ids, k, recent=bool(news.RECENT_RE.search(query)), allowed=allowed)

    def _fuse(self, qvec: np.ndarray, bm25_all: np.ndarray, dense_ids: np.ndarray, k: int, recent: bool = False, allowed: np.ndarray | None = None) -> list[Hit]:
        w = self.weights
        if allowed is not None:
            bm25_all = np.where(allowed, bm25_all, 0.0).astype(np.float32)
        c = min(len(bm25_all), self.candidates)
        bm25_top = np.argpartition(-bm25_all, c - 1)[:c] if c < len(bm25_all) else np.arange(len(bm25_all))
        cand = np.unique(np.concatenate([dense_ids, bm25_top]))
        if allowed is not None:
            cand = cand[allowed[cand]]
        prev, nxt = self._prev[cand], self._next[cand]
        # Cosines of candidates and their neighbours, from the stored vectors.
        rows = np.unique(np.concatenate([cand, prev[prev >= 0], nxt[nxt >= 0]]))
        cos = dict(zip(rows.tolist(), (np.asarray(self.index.vectors[rows]) @ qvec).tolist()))

        def around(values: dict | np.ndarray, i: int, p: int, q: int) -> float:
            total = values[i]
            for j in (p, q):
                if j >= 0:
                    total += w.neighbour_weight * values[j]
            return float(total)

        bm = bm25_all[cand].astype(np.float64)
        de = np.array([cos[i] for i in cand.tolist()])
        bm_ctx = np.array([around(bm25_all, i, p, q) for i, p, q in zip(cand.tolist(), prev.tolist(), nxt.tolist())])
        de_ctx = np.array([around(cos, i, p, q) for i, p, q in zip(cand.tolist(), prev.tolist(), nxt.tolist())])
        norm = rrf if w.method == Fusion.RRF else zscore
        fused = (
            w.bm25 * norm(bm)
            + w.dense * norm(de)
            + w.bm25_context * norm(bm_ctx)
            + w.dense_context * norm(de_ctx)
        )
        if recent and self._recency:  # a question about now: the newer of the best candidates reach the reranker
            best = np.argsort(-fused, kind="stable")[: news.RECENT_POOL]
            aids = [self.index.sentences[int(cand[i])].article_id for i in best]
            rel = news.relative(aids, self._recency)
            fused[best] += news.RECENCY * np.array([rel.get(a, 0.0) for a in aids])
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(
                self.index.sentences[int(cand[o])],
                float(fused[o]),
                int(cand[o]),
                {"bm25": float(bm[o]), "dense": float(de[o]), "bm25_context": float(bm_ctx[o]), "dense_context": float(de_ctx[o])},
            )
            for o in order
        ]

