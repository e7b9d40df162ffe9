"""CANARD: how the product resolves follow-ups, against the rewrites people wrote.

    qa eval --benchmark canard --data ../shared/data/canard/dev_all.jsonl [--report PATH]

Each of the 3,430 dev turns gives the conversation so far (QuAC questions and answers about
one Wikipedia article, whose title the answers carry as our citations carry theirs), the
raw follow-up and a person's self-contained rewrite. Scored per method, micro-averaged:

- added-word recall and precision: the content words (no stop words) the method adds to the
  raw question, against those the person added;
- exact match of the whole rewrite after SQuAD normalisation;
- how often the question was changed at all.

Methods: the raw question (adds nothing), the previous question prepended, qa's rewriter
before this work (questions only, the latest name for the first pronoun: kept here as the
baseline), and qa's resolver (qa/query.py). A turn with no earlier turn has no context in
the product, so it is left as asked (people sometimes added the article's title there). The
rules were written from reading the train pairs (`train_pairs.jsonl`); the dev set is only
scored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.metrics import normalize
from qa.query import Turn, resolve
from qa.text import words

STOP = frozenset(
    "a an the of in on at to for by with from and or but is are was were be been being did do does done has have had "
    "what when where why how who whom whose which that this these those it its he she they them his her hers their "
    "him i you we me my your our us as about into after before during than then there here not no yes any some other "
    "also more most such can could would should will may might shall must so if s".split()
)


@dataclass(frozen=True)
class CanardTurn:
    history: tuple[Turn, ...]
    question: str
    rewrite: str


def load_canard(path: Path) -> list[CanardTurn]:
    if not Path(path).is_file():
        raise QAError(f"benchmark data not found: {path}; pass --data with the file's path")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                title = str(row.get("article_title", ""))
                history = tuple(Turn(str(h["question"]), str(h.get("answer", "")), (title,) if title else ()) for h in row["history"])
                out.append(CanardTurn(history, str(row["question"]), str(row["rewrite"])))
            except (ValueError, KeyError, TypeError, RecursionError) as exc:
                raise QAError(f"{path}:{n}: not a CANARD turn ({type(exc).__name__})") from None
    return out


def content_words(text: str) -> set[str]:
    """The words the benchmark counts: lower-cased, stop words removed."""
    return {w for w in words(text) if w not in STOP}


def legacy_rewrite(question: str, history: tuple[Turn, ...]) -> str:
    """qa's rewriter before conversations used answers (commit ae19f55), for comparison."""
    turns = [t.question for t in history]
    anaphora = re.search(r"\b(he|she|him|his|her|hers|they|them|their|it|its|this|that|these|those|there|then)\b", question, re.I)
    own = [w for w in re.findall(r"[A-Za-z0-9]{3,}", question) if w.lower() not in STOP]
    if not turns or not (anaphora or len(own) < 2):
        return question
    names = [m.group(1).rstrip(".?!,") for t in turns for m in re.finditer(r"\b([A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+)*)", t)
             if m.group(1).split()[0].lower() not in STOP]
    personal = re.search(r"\b(he|she|him|his|her|hers|they|them|their)\b", question, re.I)
    if names and personal:
        possessive = personal.group(1).lower() in ("his", "their", "hers")
        return question[: personal.start()] + names[-1] + ("'s" if possessive else "") + question[personal.end():]
    return f"{question} {turns[-1]}"


METHODS: dict[str, Callable[[str, tuple[Turn, ...]], str]] = {
    "raw question": lambda q, h: q,
    "previous question prepended": lambda q, h: f"{h[-1].question} {q}" if h else q,
    "qa before (questions only)": legacy_rewrite,
    "qa (questions, answers and titles)": lambda q, h: resolve(q, list(h)),
}


def run_canard(turns: list[CanardTurn]) -> dict:
    """Per-method added-word recall/precision/F1, exact match and share changed."""
    results = {}
    for name, method in METHODS.items():
        tp = added = gold_added = exact = changed = 0
        for t in turns:
            out = method(t.question, t.history)
            raw = set(words(t.question))
            ours = content_words(out) - raw
            gold = content_words(t.rewrite) - raw
            tp += len(ours & gold)
            added += len(ours)
            gold_added += len(gold)
            exact += normalize(out) == normalize(t.rewrite)
            changed += out.strip() != t.question.strip()
        p = tp / added if added else 1.0
        r = tp / gold_added if gold_added else 0.0
        results[name] = {
            "added_word_recall": round(r, 4),
            "added_word_precision": round(p, 4),
            "added_word_f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "exact_match": round(exact / len(turns), 4),
            "changed": round(changed / len(turns), 4),
        }
    return {"benchmark": "canard", "n_turns": len(turns), "n_follow_ups": sum(1 for t in turns if t.history), "methods": results}


def format_canard(result: dict) -> str:
    keys = ["added_word_recall", "added_word_precision", "added_word_f1", "exact_match", "changed"]
    lines = ["| method | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for name, m in result["methods"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
    return "\n".join(lines)
