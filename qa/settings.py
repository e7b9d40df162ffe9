"""One frozen settings object: paths, retrieval sizes and answer thresholds.

Defaults are below; each can be overridden by a `QA_<NAME>` environment variable (for
example `QA_ABSTAIN_BELOW=0.3`) and, for paths, by CLI flags. Nothing else holds config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from qa.errors import QAError


@dataclass(frozen=True)
class Settings:
    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("indexes/default")
    retriever: str = "hybrid"
    candidates: int = 100  # per signal, before fusion
    candidates_shown: int = 10  # hits the answer step looks at
    # The cross-encoder (qa/rerank.py) rescores this many first-stage hits; 0 turns it off.
    rerank_depth: int = 6
    # Second hop (Retriever.second_hop): candidates reranked for question + best hit; 0 = off.
    hop_depth: int = 0
    reranker_dir: Path = Path(__file__).parent / "models" / "reranker"  # model.onnx + reranker.json
    max_citations: int = 3
    # Below this evidence strength (cosine + coverage_weight x query-term coverage, best of
    # the top 3 sentences) the reply abstains; both chosen from data, see docs/design.md.
    abstain_below: float = 0.72
    coverage_weight: float = 0.7
    # A second or third quoted sentence must be this close to the first one.
    extra_cosine_margin: float = 0.04
    extra_bm25_ratio: float = 0.6
    max_question_chars: int = 2000
    embed_batch_size: int = 64

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Defaults, then QA_* environment variables, then explicit overrides (flags)."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"QA_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls, f.name))
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise QAError(f"QA_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)
