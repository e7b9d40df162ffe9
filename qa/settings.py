"""One frozen, validated settings object: where things live, how much to retrieve, when to abstain.

Every default is here and nowhere else; each can be overridden by a `QA_<NAME>` environment
variable (for example `QA_ABSTAIN_BELOW=0.3`, `QA_DEBUG=1`) and, for paths, by CLI flags.
A value out of range is a one-line QAError naming the variable and the valid range.

The data home (`QA_HOME`) holds `seeds/` and `indexes/`. It defaults to the project folder
when qa runs from a source checkout (as `make run` installs it), so `qa ask` works from any
folder; an installed copy without a checkout uses the user data folder
(`$XDG_DATA_HOME/qa`, else `~/.local/share/qa`). Paths given as flags are taken as typed,
relative to the current folder.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any, get_type_hints

from qa.errors import QAError

PACKAGE_DIR = Path(__file__).resolve().parent


class Mode(str, Enum):
    """How the first stage ranks: both signals fused, or one of them alone."""

    HYBRID = "hybrid"
    BM25 = "bm25"
    DENSE = "dense"

    @classmethod
    def parse(cls, value: object, what: str = "retriever") -> Mode:
        try:
            return cls(value)
        except ValueError:
            raise QAError(f"unknown {what} {value!r}; choose one of: {', '.join(m.value for m in cls)}") from None


def default_home() -> Path:
    """QA_HOME, else the source checkout qa runs from, else the user data folder."""
    env = os.environ.get("QA_HOME")
    if env:
        return Path(env).expanduser()
    project = PACKAGE_DIR.parent
    if (project / "pyproject.toml").is_file() and (project / "seeds").is_dir():
        return project
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "qa"


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    # None means the default, filled in by __post_init__: <home>/seeds and <home>/indexes/default.
    seeds_dir: Path = None  # type: ignore[assignment]
    index_dir: Path = None  # type: ignore[assignment]
    retriever: str = "hybrid"  # hybrid | bm25 | dense (qa.retrieve.Mode)
    candidates: int = 100  # per signal, before fusion
    candidates_shown: int = 10  # hits the answer step looks at
    # The cross-encoder (qa/rerank.py) rescores this many first-stage hits; 0 turns it off.
    rerank_depth: int = 6
    # When the reader finds no sentence of those that likely answers (best answer probability
    # below deeper_below), it reads the next `deeper` too: fitted on held-out SQuAD train
    # (docs/reranker.md), one question in five, for the recall@1 of reading 10 always.
    deeper: int = 4
    deeper_below: float = 0.3
    # Second hop (Retriever.second_hop): candidates reranked for question + best hit; 0 = off.
    hop_depth: int = 0
    # The sentence after each of the first stage's best `follow_depth` hits is read too
    # (Retriever.search): "The 22-mile journey took 22 minutes" names neither Zapata nor the
    # Channel, so the first stage ranks it far down, after the sentence that names them.
    follow_depth: int = 0
    reranker_dir: Path = PACKAGE_DIR / "models" / "reranker"  # model.onnx + reranker.json
    # The reader reads the question with each name written as the passage writes it ("IAEA"
    # for "International Atomic Energy Agency"; qa.text.in_passage_words). 0: as asked.
    align_names: bool = True
    # A passage whose answer the reader finds in its title or context, not in its sentence, is
    # read again as the sentence alone, and judged on that (qa.rerank.Reranker.read). 0: off.
    judge_sentence: bool = True
    max_citations: int = 3
    # The reply abstains when evidence strength (cosine + coverage_weight x query-term
    # coverage, best of the top 3 sentences) + answer_prob_weight x the reader's probability
    # that the best evidence sentence answers falls below abstain_below (qa.answer.abstains).
    # Strength's weights chosen on SQuAD-13 (docs/design.md); the reader's weight and the
    # threshold on held-out SQuAD train (eval/reports/abstention.md).
    abstain_below: float = 0.87
    answer_prob_weight: float = 1.5
    coverage_weight: float = 0.7
    # A second or third quoted sentence must be this close to the first one.
    extra_cosine_margin: float = 0.04
    extra_bm25_ratio: float = 0.6
    # ... and, when the reader read both, have an answer probability of at least this share of
    # the first one's: the reader is then sure the extra does not answer (held-out SQuAD
    # train: 45% of extra quotes go, 7 answers of 1,489 with them; eval/quote_study.py). 0: off.
    extra_prob_ratio: float = 0.05
    # The sentence after the first quote (same paragraph) is quoted with it when the reader,
    # reading it after the first, gives it more than this share of the first's answer
    # probability: the answer is often the sentence after the one that names the subject
    # ("They are surrounded by a lipid monolayer."). Chosen on held-out SQuAD train
    # (docs/design.md, "The sentence and the one it depends on"). 0: off (nothing more is read).
    pair_share: float = 0.5
    # The reader's answer span is the bold short answer when its probability reaches this
    # (else the date, number or name the question asks for); chosen on SQuAD-13, docs/design.md.
    span_min: float = 0.3
    max_question_chars: int = 2000
    embed_batch_size: int = 64
    # The first stage embeds with MiniLM tuned on SQuAD train's questions (qa/models/encoder,
    # docs/reranker.md "The first stage's encoder"); 0: the packaged MiniLM as published. An
    # index built with the other one is rebuilt by `qa build`.
    tuned_encoder: bool = True
    # Serving: answers computed at once, and requests allowed to wait (ui/app.py).
    concurrency: int = 2
    queue_size: int = 64
    # Threads for onnxruntime, FAISS, BLAS and torch (qa/runtime.py), at most the CPU count.
    # 2 was faster than 1 on the 2-core machine, idle and beside two busy processes
    # (eval/reports/bench-ask.md).
    threads: int = 2
    # Where qa keeps files it derives from installed packages (the MiniLM ONNX graph).
    cache_dir: Path = field(default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa")
    debug: bool = False  # QA_DEBUG=1: tracebacks for internal errors

    def __post_init__(self) -> None:
        if self.seeds_dir is None:
            object.__setattr__(self, "seeds_dir", self.home / "seeds")
        if self.index_dir is None:
            object.__setattr__(self, "index_dir", self.home / "indexes" / "default")
        for name, low in _AT_LEAST.items():
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < low:
                raise QAError(f"QA_{name.upper()}={value!r} is out of range: it must be a number of {low} or more")
        for name in ("abstain_below", "answer_prob_weight", "coverage_weight", "extra_cosine_margin", "extra_bm25_ratio", "extra_prob_ratio", "span_min", "deeper_below", "pair_share"):
            if not math.isfinite(getattr(self, name)):
                raise QAError(f"QA_{name.upper()} must be a finite number")
        Mode.parse(self.retriever, "QA_RETRIEVER")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then QA_* environment variables, then explicit overrides (flags)."""
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f"QA_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.name, raw, hints[f.name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# Lower bounds of the numeric settings (checked in __post_init__).
_AT_LEAST = {
    "candidates": 1, "candidates_shown": 1, "rerank_depth": 0, "deeper": 0, "hop_depth": 0, "follow_depth": 0, "max_citations": 1,
    "max_question_chars": 1, "embed_batch_size": 1, "concurrency": 1, "queue_size": 0, "threads": 1, "answer_prob_weight": 0,
    "pair_share": 0,
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _parse(name: str, raw: str, kind: object) -> object:
    """One environment value as the field's type; a QAError says what was expected."""
    text = raw.strip()
    kinds = getattr(kind, "__args__", (kind,))  # Path | None -> (Path, NoneType)
    try:
        if bool in kinds:
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError
        if Path in kinds:
            return Path(text).expanduser()
        if int in kinds:
            return int(text)
        if float in kinds:
            return float(text)
        return text
    except ValueError:
        expected = next(getattr(k, "__name__", str(k)) for k in kinds if k is not type(None))
        raise QAError(f"QA_{name.upper()}={raw!r} is not a valid {'boolean (1/0, true/false)' if bool in kinds else expected}") from None
