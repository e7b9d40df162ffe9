"""Speed benchmark of the foundation: build throughput vs raw encode, warm and cold `ask`, memory.

    .venv/bin/python eval/bench_ask.py [--report eval/reports/bench-ask.md]

1. Build: the SQuAD-13 sentences (about 4,000, read from ../shared/data) indexed from scratch;
   embedding sentences/s of `qa build`'s code path next to a bare
   `SentenceTransformer.encode` on the same sentences with the same batch size (the ratio).
2. Warm `ask`: 50 questions of eval/questions/seed.jsonl on the seed index, and 300
   SQuAD-13 questions (every 15th) on the SQuAD-13 index, with the reranker and without
   it (QA_RERANK_DEPTH=0), one process.
3. Cold `qa ask` (a new process each time: imports, model load, index load) and `qa --help`.
4. Peak memory (max RSS) of the warm process and of one cold `qa ask`.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.articles import ReadReport, read_seeds  # noqa: E402
from qa.build import build_index  # noqa: E402
from qa.embed import MiniLMEmbedder  # noqa: E402
from qa.evaluation.benchmarks import load_squad  # noqa: E402
from qa.evaluation.questions import load_questions  # noqa: E402
from qa.evaluation.reports import emit_benchmark, machine_description  # noqa: E402
from qa.metrics import percentile  # noqa: E402
from qa.service import Assistant  # noqa: E402
from qa.settings import Settings  # noqa: E402

SQUAD = ROOT.parent / "shared" / "data" / "squad-v1.1-dev-13" / "dev-v1.1-13-articles.json"


def bench_build(embedder: MiniLMEmbedder, tmp: Path) -> dict:
    bench = load_squad(SQUAD)
    embedder.encode(["warm up"])
    summary = build_index(ReadReport(articles=bench.articles), tmp / "squad", embedder, full=True, split=bench.split)
    texts = [s.text for sents in bench.sentences.values() for s in sents]
    model = embedder.load()
    t0 = time.perf_counter()
    model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False)
    raw = time.perf_counter() - t0
    raw_rate = len(texts) / raw
    return {
        "sentences": summary.sentences,
        "build_seconds": round(summary.seconds, 1),
        "build_sentences_per_s": round(summary.sentences_per_second, 1),
        "raw_encode_sentences_per_s": round(raw_rate, 1),
        "ratio": round(summary.sentences_per_second / raw_rate, 3),
    }


def _warm_asks(assistant: Assistant, questions: list[tuple[str, list[str]]]) -> dict:
    assistant.warm_up()
    times = []
    for question, history in questions:
        t0 = time.perf_counter()
        assistant.ask(question, history=history)
        times.append((time.perf_counter() - t0) * 1000)
    return {"questions": len(times), "p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 95), 1)}


def bench_warm(embedder: MiniLMEmbedder, tmp: Path) -> dict:
    index_dir = tmp / "seed"
    build_index(read_seeds(ROOT / "seeds"), index_dir, embedder)
    questions = [(q.question, list(q.history)) for q in load_questions(ROOT / "eval" / "questions" / "seed.jsonl")[:50]]
    seed = _warm_asks(Assistant(Settings(index_dir=index_dir), embedder=embedder), questions)
    squad_questions = [(q.question, []) for q in load_squad(SQUAD).questions[::15]]
    squad = {
        depth: _warm_asks(Assistant(Settings(index_dir=tmp / "squad", rerank_depth=depth), embedder=embedder), squad_questions)
        for depth in (Settings().rerank_depth, 0)
    }
    return {"seed": seed, "squad": squad, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)}


def bench_cold(runs: int = 3) -> dict:
    qa = str(ROOT / ".venv" / "bin" / "qa")
    help_times, ask_times = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([qa, "--help"], capture_output=True, check=True, cwd=ROOT)
        help_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([qa, "ask", "Who attended the Riyadh talks?"], capture_output=True, check=True, cwd=ROOT)
        ask_times.append(time.perf_counter() - t0)
    # Peak memory of one cold ask, measured by a small parent: a child forked from this
    # (large) process would report this process's pages as its own.
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True, check=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, qa, "ask", "Who attended the Riyadh talks?"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return {
        "help_median_s": round(statistics.median(help_times), 3),
        "ask_median_s": round(statistics.median(ask_times), 2),
        "ask_max_s": round(max(ask_times), 2),
        "ask_peak_rss_mb": round(int(out.split()[-1]) / 1024, 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    if not (ROOT / "indexes" / "default" / "CURRENT").exists():
        print("run `qa build` first: the cold `qa ask` uses indexes/default", file=sys.stderr)
        return 2
    embedder = MiniLMEmbedder()
    with tempfile.TemporaryDirectory() as d:
        build = bench_build(embedder, Path(d))
        warm = bench_warm(embedder, Path(d))
    cold = bench_cold()
    lines = [
        f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| build: sentences (SQuAD-13) | {build['sentences']} |",
        f"| build: total seconds | {build['build_seconds']} |",
        f"| build: embedding sentences/s | {build['build_sentences_per_s']} |",
        f"| raw SentenceTransformer.encode sentences/s | {build['raw_encode_sentences_per_s']} |",
        f"| build / raw throughput | {build['ratio']:.1%} |",
        f"| warm ask p50 / p95 ms ({warm['seed']['questions']} seed questions, seed index) | {warm['seed']['p50_ms']} / {warm['seed']['p95_ms']} |",
        *(
            f"| warm ask p50 / p95 ms ({w['questions']} SQuAD-13 questions, SQuAD-13 index, {f'reranker on the best {d}' if d else 'no reranker'}) | {w['p50_ms']} / {w['p95_ms']} |"
            for d, w in warm["squad"].items()
        ),
        f"| peak memory MB of this process (SQuAD-13 build + warm asks) | {warm['peak_rss_mb']:.0f} |",
        f"| cold `qa ask` median / max s | {cold['ask_median_s']} / {cold['ask_max_s']} |",
        f"| cold `qa ask` peak memory MB | {cold['ask_peak_rss_mb']:.0f} |",
        f"| `qa --help` median s | {cold['help_median_s']} |",
    ]
    emit_benchmark(lines, args.report, "Foundation speed benchmark", "eval/bench_ask.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
