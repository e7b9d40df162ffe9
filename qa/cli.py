"""The `qa` command: build, ask, eval, serve, train. Thin: parses flags, calls the library, prints.

Heavy libraries (torch, sentence-transformers, faiss, gradio) are imported by the commands
that need them, so `qa --help` answers at once. Every QAError becomes one line on stderr
and a non-zero exit; nothing the user types produces a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from qa.errors import QAError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, with where to look
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add_index_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: $QA_HOME/indexes/default)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qa", description="Answers questions about a folder of news articles, citing the exact sentences.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    b = sub.add_parser("build", help="(re)build the index from the seeds folder")
    b.add_argument("--seeds", type=Path, action="append", metavar="DIR",
                   help="folder of article files (default: $QA_HOME/seeds); repeat it to index several folders together")
    _add_index_flag(b)
    b.add_argument("--full", action="store_true", help="re-embed every article instead of reusing unchanged ones")
    b.add_argument("--quiet", action="store_true", help="no progress bar")

    a = sub.add_parser("ask", help="answer one question, citing sentences")
    a.add_argument("question", help="the question, in quotes")
    _add_index_flag(a)
    a.add_argument("--history", action="append", default=[], metavar="TURN",
                   help='an earlier turn, oldest first (repeatable): a question, or a JSON object {"question": …, "answer": …}')
    a.add_argument("--retriever", choices=("hybrid", "bm25", "dense"), help="ranking method (default: hybrid)")
    a.add_argument("--source", action="append", default=[], metavar="NAME", help="answer only from articles of this source (repeatable)")
    a.add_argument("--since", type=_iso_day, metavar="YYYY-MM-DD", help="answer only from articles of this day or later")
    a.add_argument("--until", type=_iso_day, metavar="YYYY-MM-DD", help="answer only from articles of this day or earlier")
    a.add_argument("--article", action="append", default=[], metavar="ID", help="answer only from this article (its id, e.g. story.txt; repeatable)")
    a.add_argument("--json", action="store_true", help="print one JSON object")

    e = sub.add_parser("eval", help="score a question set or a public benchmark")
    e.add_argument("--questions", type=Path, metavar="FILE", help="JSON Lines question set (default: eval/questions/seed.jsonl)")
    _add_index_flag(e)
    e.add_argument("--benchmark", choices=("squad", "hotpot", "canard"), help="run a public benchmark instead of a question set")
    e.add_argument("--data", type=Path, metavar="FILE", help="the benchmark's data file")
    e.add_argument("--compare", action="store_true", help="also run the baselines (BM25, dense, naive llama-index) in the same run")
    e.add_argument("--limit", type=int, metavar="N", help="only the first N questions (smoke runs)")
    e.add_argument("--json", action="store_true", help="print the full results as JSON")
    e.add_argument("--report", type=Path, metavar="PATH", help="write a Markdown report (with a PNG chart) here")

    s = sub.add_parser("serve", help="start the browser chat")
    _add_index_flag(s)
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    s.add_argument("--auth", metavar="USER:PASSWORD", help="require this login (needed to bind beyond loopback safely)")
    s.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests addressed to this host name (repeatable; loopback names always work)")
    s.add_argument("--read-only", action="store_true", help="no Articles tab: the page cannot add or remove articles")

    t = sub.add_parser("train", help="train the reader (reranker + answer + span heads) on SQuAD v1.1 train; resumable (docs/reranker.md)")
    t.add_argument("--data", type=Path, metavar="DIR", help="folder with paragraphs.jsonl and questions.jsonl (default: ../shared/data/squad-v1.1-train)")
    t.add_argument("--checkpoint", type=Path, metavar="DIR", help="the run's checkpoint folder (default: checkpoints/reader)")
    t.add_argument("--resume", action="store_true", help="continue the run saved in --checkpoint")
    t.add_argument("--minutes", type=float, metavar="M", help="stop (and save the checkpoint) after M minutes (default: no limit)")
    t.add_argument("--threads", type=_positive, metavar="N", help="CPU threads (default: 2)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train (default: auto, a GPU when there is one)")
    t.add_argument("--questions", type=_positive, metavar="N", help="train on the first N items only (smoke runs; default: all)")
    t.add_argument("--layers", type=int, choices=range(1, 7), metavar="1-6", help="MiniLM layers to keep (default: 6)")
    t.add_argument("--seed", type=int, help="random seed (default: 13)")
    t.add_argument("--epochs", type=_positive_float, metavar="E", help="planned passes over the training items; sets the learning-rate schedule (default: 1)")
    t.add_argument("--lr", type=_positive_float, metavar="LR", help="peak learning rate (default: 5e-5)")
    t.add_argument("--context", type=_whole(0, 64), metavar="WORDS",
                   help="read each sentence after the first WORDS words of the previous one (0-64; default: 0, sentences alone)")
    t.add_argument("--max-length", type=_whole(32, 512), metavar="TOKENS", help="tokens per pair, 32-512 (default: 96)")
    t.add_argument("--twins-every", type=_whole(0, 100), metavar="N",
                   help="every N-th question also trains on a perturbed, unanswerable twin (0-100; 0: none; default: 4)")
    t.add_argument("--headlines", type=_share, metavar="SHARE",
                   help="share of the questions read under headline-like titles, their article's first sentence (0-1; default: 0)")
    t.add_argument("--init-from", type=Path, metavar="DIR", help="start a new run from the weights of the checkpoint in DIR, reading on from where that run stopped in the item order")
    t.add_argument("--out", type=Path, metavar="DIR", help="where to export model.onnx and reranker.json (default: qa/models/reranker)")
    t.add_argument("--exit", type=int, choices=range(1, 7), metavar="L", dest="export_exit", help="which exit to export: 3 or 6 (default: the deepest)")
    how = t.add_mutually_exclusive_group()
    how.add_argument("--export", action="store_true", help="export the model when this session stops, even if the run is not finished")
    how.add_argument("--export-only", action="store_true", help="export the checkpoint's model without training")
    return parser


def _iso_day(text: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-02-18") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number above 0")
    return value


def _share(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a share from 0 to 1")
    return value


def _whole(low: int, high: int):
    """An argparse type: a whole number from low to high."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be from {low} to {high}")
        return value

    return parse


def _settings(args: argparse.Namespace):
    from qa.settings import Settings

    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        seeds_dir=(getattr(args, "seeds", None) or [None])[0],
        retriever=getattr(args, "retriever", None),
    )


def cmd_build(args: argparse.Namespace) -> int:
    from qa.articles import suffix_list
    from qa.seeds import read_folders

    settings = _settings(args)
    folders = args.seeds or [settings.seeds_dir]
    for seeds in folders:
        if not seeds.is_dir():
            raise QAError(f"seeds folder {seeds} does not exist; create it and put articles in it ({suffix_list()})")
    if not args.quiet:
        print(f"reading {', '.join(map(str, folders))}…", file=sys.stderr, flush=True)
    report = read_folders(folders)
    seeds = folders[0] if len(folders) == 1 else ", ".join(map(str, folders))
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    for path, message in report.warnings:
        print(f"warning {path}: {message}", file=sys.stderr)
    for path, same in report.duplicates:
        print(f"skipped {path}: same text as article {same}", file=sys.stderr)
    if not report.articles:
        raise QAError(f"no readable articles in {seeds} ({suffix_list()}); add some, then run `qa build` again")

    from qa.build import build_index
    from qa.embed import MiniLMEmbedder

    phases = _Phases(quiet=args.quiet)
    embedder = MiniLMEmbedder.configured(settings)
    try:
        summary = build_index(report, settings.index_dir, embedder, full=args.full, progress=phases)
    finally:
        phases.close()
    articles = f"{summary.articles} article{'s' if summary.articles != 1 else ''}"
    if summary.unchanged:
        print(f"nothing changed: {articles}, {summary.sentences} sentences already indexed in version {summary.version} "
              f"({summary.seconds:.1f} s; `qa build --full` rebuilds anyway) -> {settings.index_dir}")
        return 0
    rate = f", {summary.sentences_per_second:.0f} sentences/s embedding" if summary.embedded else ""
    print(
        f"indexed {articles}, {summary.sentences} sentences in {summary.seconds:.1f} s "
        f"(added {summary.added}, changed {summary.changed}, removed {summary.removed}, reused {summary.reused}; "
        f"embedded {summary.embedded}{rate}; skipped {len(summary.skipped) + len(summary.duplicates)}) -> {settings.index_dir}"
    )
    return 0


class _Phases:
    """`qa build`'s progress on stderr: a line per phase, a bar while a phase is long."""

    LABELS = {"split": ("splitting", "articles"), "embed": ("embedding", "sentences"), "write": ("writing the index", "")}

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.started = quiet, 0.0
        self.bar: Any = None
        self.phase: str | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        import time

        if self.quiet:
            return
        if phase != self.phase:
            self.close()
            self.phase, self.started = phase, time.perf_counter()
            label, unit = self.LABELS.get(phase, (phase, ""))
            if phase == "write" or total == 0 or not sys.stderr.isatty():
                print(f"{label}…", file=sys.stderr, flush=True)
                return
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False, mininterval=0.5,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + unit + " [{elapsed}<{remaining}]")
        if self.bar is not None:
            self.bar.update(done - self.bar.n)  # drawn at most every half second

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _history(values: list[str]) -> list:
    """--history values: plain questions, or JSON objects with the earlier reply too."""
    out: list = []
    for n, value in enumerate(values, 1):
        if value.lstrip().startswith("{"):
            try:
                turn = json.loads(value)
            except (ValueError, RecursionError):
                raise QAError(f'--history {n} is not a JSON object; pass a question, or {{"question": "...", "answer": "..."}}') from None
            if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
                raise QAError(f'--history {n} needs a "question" string')
            out.append(turn)
        else:
            out.append(value)
    return out


def format_answer(ans) -> str:
    """The human-readable reply: what was understood, the quoted sentences, then where each one is."""
    lines = [ans.text, ""]
    if ans.query and ans.query != ans.question:
        lines.insert(0, f"Understood as: {ans.query}")
    if ans.abstained:
        if ans.closest:
            lines.append("Closest passages (not an answer):")
            for c in ans.closest:
                lines.append(f"  - {c.text}  ({c.title or c.article_id}, sentence {c.sentence_index + 1})")
        return "\n".join(lines).rstrip()
    if ans.short_answer:
        lines.insert(1 if lines[0].startswith("Understood as: ") else 0, f"Answer: {ans.short_answer}")
    if ans.note:
        lines.insert(len(lines) - 1, f"Note: this answer is {ans.note}.")
    lines.append("Sources:")
    for c in ans.citations:
        where = " · ".join(x for x in (c.title or c.article_id, c.source, c.date) if x)
        page = f" · page {c.page}" if c.page else ""
        lines.append(f"  [{c.n}] {where} · article {c.article_id}{page} · sentence {c.sentence_index + 1} · chars {c.start}-{c.end}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answer import check_question
    from qa.service import Assistant

    settings = _settings(args)
    check_question(args.question, settings)  # fail fast, before loading the model
    from qa.filters import Filters

    filters = Filters(tuple(args.source), args.since or "", args.until or "", tuple(args.article))
    ans = Assistant(settings).ask(args.question, history=_history(args.history), filters=filters)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(ans))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """`qa eval`: a question set (default: the project's own) or a public benchmark (qa/evaluation/command.py)."""
    from qa.evaluation.command import run_eval

    return run_eval(args, _settings(args))


def cmd_serve(args: argparse.Namespace) -> int:
    from qa_ui.server import serve

    return serve(_settings(args), host=args.host, port=args.port, auth=args.auth, allow_hosts=args.allow_host, read_only=args.read_only)


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from qa.training.loop import TrainConfig, Trainer

    given = {
        "data": args.data, "checkpoint": args.checkpoint, "out": args.out, "questions": args.questions, "layers": args.layers,
        "minutes": args.minutes, "seed": args.seed, "threads": args.threads, "device": args.device, "export_exit": args.export_exit,
        "epochs": args.epochs, "lr": args.lr, "context": args.context, "max_length": args.max_length, "init_from": args.init_from,
        "twins_every": args.twins_every, "headlines": args.headlines,
    }
    chosen: dict[str, Any] = {k: (str(v) if isinstance(v, Path) else v) for k, v in given.items() if v is not None}
    config = replace(TrainConfig(), **chosen)
    trainer = Trainer(config, resume=args.resume or args.export_only, log=lambda line: print(line, file=sys.stderr, flush=True))
    st = trainer.state
    if st["step"] >= trainer.total_steps and not (args.export or args.export_only):
        # A finished run is not exported again: that would silently replace the shipped reader.
        print(f"the run in {trainer.config.checkpoint} is complete (step {st['step']}/{trainer.total_steps}); export it with "
              "`qa train --export-only --out DIR`, or start a new run from it with `--init-from` and another --checkpoint")
        return 0
    done = False if args.export_only else trainer.run()
    if done and not (args.out or args.export):
        # A run that ends is exported only where asked: over the shipped reader it would replace a
        # model that was judged on the benchmarks (and its fitted fusion weights) with one that was not.
        print(f"the run in {trainer.config.checkpoint} is complete (step {st['step']}/{trainer.total_steps}); not exported over "
              f"{trainer.config.out}: export it with `qa train --export-only --out DIR`, compare it with eval/compare_readers.py, "
              "ship it with `qa train --export-only`")
    elif done or args.export or args.export_only:
        card = trainer.export()
        print(f"reader written to {trainer.config.out}/{card['model']} (sha256 {card['sha256'][:12]}…, exit {card['layers']}, "
              f"{st['questions_seen']} questions seen)")
    else:
        print(f"checkpoint saved in {trainer.config.checkpoint}: step {st['step']}/{trainer.total_steps}, {st['questions_seen']} questions seen; "
              "continue with `qa train --resume`")
    return 0


COMMANDS = {"build": cmd_build, "ask": cmd_ask, "eval": cmd_eval, "serve": cmd_serve, "train": cmd_train}


def _debug() -> bool:
    from qa.settings import Settings

    try:
        return Settings.from_env().debug
    except QAError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still one line, the traceback on request
        if _debug():
            raise
        print(f"qa: internal error: {type(exc).__name__}: {exc} (rerun with QA_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
