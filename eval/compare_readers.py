"""The project's question sets, once per reader: is an exported checkpoint better than the shipped one?

    .venv/bin/python eval/compare_readers.py [--reader NAME=DIR]... [--env NAME=KEY=VALUE]... [--report PATH]

Each reader (an exported folder with model.onnx and reranker.json, `qa train --export-only
--out DIR`; `shipped` is qa/models/reranker and always comes first) answers the seed set
alone and among the Wikinews articles, the conversations, the recurring events and
news-dev (docs/evaluation.md: news-dev is the set that chooses between readers, the others
confirm or refute). Counts, not shares, so that a difference of one question reads as one.
`--env` runs a reader again with settings changed (`--env deep=QA_RERANK_DEPTH=10`, several
joined by commas); the name of such a run is the reader's name and its own, and the reader is
the last one given before it, or the shipped one.

The indexes are the ones `make eval-reports` builds (indexes/default and
indexes/seed-wikinews); each set runs in its own `qa eval` process, so nothing is shared
between readers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.evaluation.question_set import PROJECT_SETS  # noqa: E402

SETS = PROJECT_SETS


def run_set(index: str, questions: str, env: dict[str, str]) -> dict:
    """One `qa eval --json` run; its summary."""
    out = subprocess.run([str(ROOT / ".venv/bin/qa"), "eval", "--index", index, "--questions", questions, "--json"],
                         cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"qa eval --index {index} --questions {questions} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)["summary"]


def cell(s: dict) -> str:
    """answer right / first citation right (of the answerable), abstained (of the unanswerable), false abstentions."""
    na, nu = s["n_answerable"], s["n_unanswerable"]
    text = f"{round(s['answer_accuracy'] * na)} / {round(s['first_citation_accuracy'] * na)} of {na}"
    if nu:
        text += f"; abst. {round(s['abstention_accuracy'] * nu)} of {nu}"
    return text + f"; false {round(s['false_abstention_rate'] * na)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reader", action="append", default=[], metavar="NAME=DIR", help="an exported reader to compare (repeatable)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=KEY=VALUE", help="the previous reader again with a QA_* setting")
    ap.add_argument("--report", type=Path, help="also write the table here")
    args = ap.parse_args()
    runs: list[tuple[str, dict[str, str]]] = [("shipped", {})]
    order = []  # the flags in the order given: an --env applies to the reader before it
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a in ("--reader", "--env") and i + 1 < len(argv):
            order.append((a, argv[i + 1]))
        elif a.startswith(("--reader=", "--env=")):
            flag, value = a.split("=", 1)
            order.append((flag, value))
    for flag, value in order:
        if flag == "--reader":
            name, _, folder = value.partition("=")
            if not (Path(folder) / "reranker.json").is_file():
                raise SystemExit(f"--reader {value}: no reranker.json in {folder}; export one with `qa train --export-only --out DIR`")
            runs.append((name, {"QA_RERANKER_DIR": str(Path(folder).resolve())}))
        else:
            name, _, settings = value.partition("=")
            changed = dict(setting.partition("=")[::2] for setting in settings.split(","))
            if not changed or any(not k.startswith("QA_") or not v for k, v in changed.items()):
                raise SystemExit(f"--env {value}: expected NAME=QA_SETTING=VALUE[,QA_SETTING=VALUE]")
            base_name, base_env = runs[-1]
            runs.append((f"{base_name} {name}", {**base_env, **changed}))
    for index in sorted({i for _, i, _ in SETS}):
        if not (ROOT / index / "CURRENT").exists():
            raise SystemExit(f"{index} is not built; run `make eval-reports` or `qa build` for it first")
    lines = ["| reader | " + " | ".join(name for name, _, _ in SETS) + " |", "|---|" + "---|" * len(SETS)]
    started = time.time()
    for name, env in runs:
        cells = [cell(run_set(index, questions, env)) for _, index, questions in SETS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    text = "\n".join(lines)
    note = ("Each cell: answers right / first citation right, of the answerable questions; abstentions, of the unanswerable; "
            f"false abstentions. {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.time() - started:.0f} s.")
    print("\n" + text + "\n\n" + note)
    if args.report:
        args.report.write_text(text + "\n\n" + note + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
