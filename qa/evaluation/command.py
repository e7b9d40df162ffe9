"""`qa eval`, behind the CLI's flags: the project's question sets, the public benchmarks, CANARD.

Each run prints a summary (or one JSON object with --json) and can write a Markdown report."""

from __future__ import annotations

import argparse
import json

from qa.errors import QAError
from qa.settings import Settings


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    """`qa eval`: a question set (default: the project's own) or a public benchmark."""
    if args.benchmark:
        return _eval_benchmark(args, settings)
    if args.data or args.compare:
        raise QAError("--data and --compare go with --benchmark squad|hotpot")
    from qa.evaluation.question_set import run_question_set
    from qa.evaluation.questions import DEFAULT_QUESTIONS, load_questions
    from qa.evaluation.reports import format_summary, write_question_set_report
    from qa.service import Assistant

    path = args.questions or DEFAULT_QUESTIONS
    questions = load_questions(path)
    if args.limit:
        questions = questions[: args.limit]
    assistant = Assistant(settings)
    assistant.warm_up()
    result = run_question_set(questions, lambda q, h: assistant.ask(q, history=h), progress=not args.json)
    result["settings"] = {"questions": str(path), "index": str(settings.index_dir), "index_version": assistant.index.version}
    if args.report:
        write_question_set_report(args.report, result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_summary(result["summary"]))
        if args.report:
            print(f"report written to {args.report}")
    return 0


def _eval_benchmark(args: argparse.Namespace, settings: Settings) -> int:
    """`qa eval --benchmark NAME --data FILE [--compare] [--report PATH] [--json]`."""
    import time

    from qa.embed import MiniLMEmbedder
    from qa.evaluation.benchmarks import load
    from qa.evaluation.reports import format_table, machine_description, write_benchmark_report
    from qa.evaluation.runners import METHODS, run_benchmark

    if args.questions:
        raise QAError("--questions and --benchmark are two different runs; pass one of them")
    if not args.data:
        raise QAError(f"--benchmark {args.benchmark} needs --data FILE (the benchmark's JSON file)")
    if args.benchmark == "canard":
        return _eval_canard(args)
    bench = load(args.benchmark, args.data)
    index_dir = args.index or settings.home / "indexes" / f"bench-{args.benchmark}"
    methods = METHODS if args.compare else ("qa",)
    embedder = MiniLMEmbedder.configured(settings)
    started = time.time()
    result = run_benchmark(bench, index_dir, embedder, settings, methods=methods, limit=args.limit, progress=not args.json)
    result["data"] = str(args.data)
    result["seconds"] = round(time.time() - started, 1)
    result["machine"] = machine_description()
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["settings"] = {k: str(v) for k, v in vars(settings).items()}
    if args.report:
        write_benchmark_report(args.report, result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    print(f"{bench.name}: {result['n_questions']} questions over {result['n_sentences']} sentences "
          f"({result['n_articles']} articles); {result['machine']}")
    print(format_table(result))
    if "abstention" in result:
        a = result["abstention"]
        print(f"abstention (article removed): ROC-AUC {a['roc_auc']:.3f}; at threshold {a['threshold']}: "
              f"balanced accuracy {a['balanced_accuracy_at_threshold']:.3f}; best {a['best_threshold']} -> {a['balanced_accuracy_at_best']:.3f}")
    if args.report:
        print(f"report written to {args.report}")
    return 0


def _eval_canard(args: argparse.Namespace) -> int:
    """`qa eval --benchmark canard --data dev_all.jsonl`: follow-ups against people's rewrites."""
    import time

    from qa.evaluation.canard import format_canard, load_canard, run_canard
    from qa.evaluation.reports import machine_description, write_canard_report

    turns = load_canard(args.data)
    result = run_canard(turns[: args.limit] if args.limit else turns)
    result.update({"data": str(args.data), "machine": machine_description(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    if args.report:
        write_canard_report(args.report, result)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"canard: {result['n_turns']} turns ({result['n_follow_ups']} with earlier turns)")
    print(format_canard(result))
    if args.report:
        print(f"report written to {args.report}")
    return 0
