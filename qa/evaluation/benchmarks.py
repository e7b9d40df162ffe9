"""Public benchmarks as qa corpora: SQuAD v1.1 (open setting) and HotpotQA (distractor, pooled).

Each loader returns articles to index, a splitter that fixes the sentence boundaries the
gold labels refer to, and questions whose gold is a set of (article_id, sentence_index).
- SQuAD: one article per Wikipedia title, its paragraphs joined by blank lines and split by
  our own splitter; the gold sentences are those holding an annotated answer span.
- HotpotQA: every paragraph of every question pooled (deduplicated by title); sentences are
  the dataset's own, so the gold supporting facts map exactly.
The data is read from where it lies (../shared/data); nothing is copied into the repo.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.articles import Article, content_hash
from qa.errors import QAError
from qa.sentences import Sentence, split_article

BENCHMARKS = ("squad", "hotpot")


@dataclass(frozen=True)
class BenchQuestion:
    id: str
    question: str
    answers: list[str]
    gold: frozenset[tuple[str, int]]  # (article_id, sentence_index)
    article_id: str = ""


@dataclass
class Benchmark:
    name: str
    articles: list[Article]
    questions: list[BenchQuestion]
    split: Callable[[Article], list[Sentence]] = split_article
    sentences: dict[str, list[Sentence]] = field(default_factory=dict)


def _read_json(path: Path) -> dict | list:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise QAError(f"benchmark data not found: {path}; pass --data with the file's path") from None
    except json.JSONDecodeError as exc:
        raise QAError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def load_squad(path: Path) -> Benchmark:
    """SQuAD v1.1 JSON: all paragraphs of all articles, all questions."""
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise QAError(f"{path}: not SQuAD v1.1 JSON (no top-level 'data' list)")
    articles: list[Article] = []
    questions: list[BenchQuestion] = []
    sentences: dict[str, list[Sentence]] = {}
    for art in data["data"]:
        title = art["title"].replace("_", " ")
        offsets, parts, pos = [], [], 0
        for para in art["paragraphs"]:
            ctx = para["context"].strip()
            offsets.append(pos)
            parts.append(ctx)
            pos += len(ctx) + 2
        text = "\n\n".join(parts)
        article = Article(id=art["title"], title=title, source="Wikipedia (SQuAD v1.1)", date="", text=text, hash=content_hash(text))
        articles.append(article)
        sents = split_article(article)
        sentences[article.id] = sents
        for p, para in enumerate(art["paragraphs"]):
            lead = len(para["context"]) - len(para["context"].lstrip())
            for qa in para["qas"]:
                gold = set()
                for ans in qa["answers"]:
                    start = offsets[p] + ans["answer_start"] - lead
                    end = start + len(ans["text"])
                    for s in sents:
                        if s.start < end and start < s.end and s.paragraph == p:
                            gold.add((article.id, s.index))
                            break
                questions.append(
                    BenchQuestion(qa["id"], qa["question"], sorted({a["text"] for a in qa["answers"]}), frozenset(gold), article.id)
                )
    return Benchmark("squad", articles, questions, split=lambda a: sentences[a.id], sentences=sentences)


def _pairs(value: list | dict, second: str) -> list[tuple]:
    """HotpotQA's (title, x) pairs, from the original list layout or the columnar one
    ({"title": [...], second: [...]}) that the Hugging Face copy uses."""
    if isinstance(value, dict):
        return list(zip(value["title"], value[second]))
    return [tuple(v) for v in value]


def load_hotpot(path: Path) -> Benchmark:
    """HotpotQA distractor JSON: pooled paragraphs, gold supporting sentences."""
    data = _read_json(path)
    if not isinstance(data, list):
        raise QAError(f"{path}: not HotpotQA JSON (expected a list of questions)")
    by_title: dict[str, list[str]] = {}
    for item in data:
        for title, sents in _pairs(item["context"], "sentences"):
            by_title.setdefault(title, sents)
    articles, sentences = [], {}
    for title, sents in by_title.items():
        text, spans = "", []
        for s in sents:
            piece = s.strip()
            if text:
                text += " "
            start = len(text)
            text += piece
            spans.append((start, len(text)))
        article = Article(id=title, title=title, source="Wikipedia (HotpotQA)", date="", text=text, hash=content_hash(text))
        articles.append(article)
        sentences[title] = [
            Sentence(title, i, 0, s, e, text[s:e]) for i, (s, e) in enumerate(spans) if e > s
        ]
    questions = []
    for n, item in enumerate(data):
        gold = frozenset((t, i) for t, i in _pairs(item["supporting_facts"], "sent_id") if t in sentences and i < len(by_title[t]))
        qid = str(item.get("_id", item.get("id", n)))
        questions.append(BenchQuestion(qid, item["question"], [item["answer"]], gold))
    return Benchmark("hotpot", articles, questions, split=lambda a: sentences[a.id], sentences=sentences)


def load(name: str, path: Path) -> Benchmark:
    if name == "squad":
        return load_squad(path)
    if name == "hotpot":
        return load_hotpot(path)
    raise QAError(f"unknown --benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}")
