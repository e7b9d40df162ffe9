"""Which first-stage encoder to ship: a training checkpoint exported at several mixes, judged
on the project's question sets and on SQuAD-13's first stage, beside the packaged encoder.

    .venv/bin/python eval/encoder_study.py [--checkpoint checkpoints/first-stage] [--mix 0.2,0.4,0.7,1]
        [--sets seed,seed+wikinews,conversations,recurring,news-dev] [--squad-limit N]

For each mix a (qa.training.export.export_encoder: packaged + a x (trained - packaged)), the
export goes to a temporary folder, the seed and seed + wikinews-478 indexes are built with it
(in a temporary folder too), every set is asked in one warm process (`qa eval`'s
run_question_set) and SQuAD-13's fused first stage is scored (`qa eval`'s runners). The row
"packaged" is the encoder as published (QA_TUNED_ENCODER=0). "outcomes right" counts answers
right plus unanswerable questions abstained on, over the sets: the number the shipped mix was
chosen on (docs/reranker.md, "The first stage's encoder"). Nothing in qa/models is touched:
ship a mix with `python -m qa.training.first_stage --export-only --mix A`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.errors import QAError  # noqa: E402
from qa.evaluation.question_set import PROJECT_SETS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WIKINEWS = ROOT.parent / "shared" / "data" / "wikinews-478" / "articles"
SQUAD = ROOT.parent / "shared" / "data" / "squad-v1.1-dev-13" / "dev-v1.1-13-articles.json"
SETS = {name: (index, questions) for name, index, questions in PROJECT_SETS}
SOURCES = {"indexes/default": [ROOT / "seeds"], "indexes/seed-wikinews": [ROOT / "seeds", WIKINEWS]}  # as make eval-reports builds them


def judge(embedder, sets: list[str], work: Path, squad_limit: int) -> dict:
    """The sets' outcomes and SQuAD-13's first stage with one embedder."""
    from qa.build import build_index
    from qa.evaluation.benchmarks import load
    from qa.evaluation.question_set import run_question_set
    from qa.evaluation.questions import load_questions
    from qa.evaluation.runners import run_benchmark
    from qa.seeds import read_folders
    from qa.service import Assistant
    from qa.settings import Settings

    settings = Settings.from_env()
    out: dict = {}
    assistants: dict[str, Assistant] = {}
    for name in sets:
        index, questions = SETS[name]
        if index not in assistants:
            build_index(read_folders(SOURCES[index]), work / index, embedder)
            assistants[index] = Assistant(settings.replace(index_dir=work / index), embedder=embedder)
        a = assistants[index]
        s = run_question_set(load_questions(ROOT / questions), lambda q, h, a=a: a.ask(q, history=h), progress=False)["summary"]
        right = round(s["answer_accuracy"] * s["n_answerable"])
        abstained = round((s["abstention_accuracy"] or 0) * s["n_unanswerable"])
        out[name] = (right, abstained, s["n_answerable"], s["n_unanswerable"])
    result = run_benchmark(load("squad", SQUAD), work / "squad", embedder, settings, ("hybrid",), squad_limit or None, progress=False)
    out["squad"] = result["methods"]["hybrid"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "first-stage")
    parser.add_argument("--mix", default="0.2,0.4,0.7,1", help="the mixes to export and judge, comma-separated, each in (0, 1]")
    parser.add_argument("--sets", default=",".join(SETS), help=f"which sets, comma-separated: {', '.join(SETS)}")
    parser.add_argument("--squad-limit", type=int, default=0, help="SQuAD-13's first N questions only (default: all)")
    args = parser.parse_args(argv)
    try:
        mixes = [float(m) for m in args.mix.split(",") if m]
    except ValueError:
        mixes = []
    sets = [s for s in args.sets.split(",") if s]
    if not mixes or any(not 0 < m <= 1 for m in mixes) or not sets or any(s not in SETS for s in sets) or args.squad_limit < 0:
        print(f"error: --mix takes numbers in (0, 1], --sets names from {', '.join(SETS)}, --squad-limit 0 or more", file=sys.stderr)
        return 2
    from qa.embed import MiniLMEmbedder
    from qa.training.checkpoint import read_state
    from qa.training.export import export_encoder

    rows = []
    try:
        state = read_state(args.checkpoint)
        if state is None:
            raise QAError(f"no training run in {args.checkpoint} (state.json missing)")
        with tempfile.TemporaryDirectory(prefix="encoder-study-") as tmp:
            rows.append(("packaged", judge(MiniLMEmbedder(tuned=False, cache_dir=Path(tmp) / "cache"), sets, Path(tmp) / "packaged", args.squad_limit)))
            for m in mixes:
                folder = Path(tmp) / f"encoder-{m}"
                export_encoder(args.checkpoint, folder, {"study": str(args.checkpoint)}, m)
                embedder = MiniLMEmbedder(tuned_folder=folder, cache_dir=Path(tmp) / "cache")
                rows.append((f"{m:g}", judge(embedder, sets, Path(tmp) / f"mix-{m}", args.squad_limit)))
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.checkpoint}: step {state['step']}, {state['questions_seen']:,} questions read; sets: answers right + unanswerable abstained")
    print(f"| mix | {' | '.join(sets)} | outcomes right | SQuAD-13 first stage recall@1 / @5 / @10 |")
    print("|---:|" + "---:|" * (len(sets) + 2))
    for name, r in rows:
        cells = [f"{r[s][0]} + {r[s][1]}" for s in sets]
        q = r["squad"]
        print(f"| {name} | {' | '.join(cells)} | {sum(r[s][0] + r[s][1] for s in sets)} | {q['recall@1']:.3f} / {q['recall@5']:.3f} / {q['recall@10']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
