"""Speed benchmark of asking, starting and building, before and after a change, on one machine.

    .venv/bin/python eval/bench_ask.py [--before REV] [--report eval/reports/bench-ask.md]

Each variant (this tree, and with --before the tree of git revision REV, unpacked with
`git archive`) runs its own code with the same Python environment, in fresh processes:
1. `qa build` of seeds/ into a new index, then again with nothing changed: the no-op build's
   time, and whether it wrote a new version;
2. cold `qa ask` (a new process: imports, model and index load, one answer), median and max
   of 5, and `qa --help`;
3. `qa serve`: seconds from launch to the first answered POST /api/ask, then the serving
   process's resident memory after 20 warm-up questions;
4. warm `ask` in one process: p50/p95 over 50 seed questions (seed index) and every 15th
   SQuAD-13 question (304; SQuAD-13 index, reranker on).
This tree also measures warm asks with 1 and 2 threads (`QA_THREADS`), on an idle machine
and with two busy processes beside it: that table chose `Settings.threads`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.evaluation.reports import emit_benchmark, machine_description  # noqa: E402

SQUAD = ROOT.parent / "shared" / "data" / "squad-v1.1-dev-13" / "dev-v1.1-13-articles.json"
QUESTION = "Who attended the Riyadh talks?"

# Warm asks, run with a variant's own code (old and new module layouts both work).
WARM = r"""
import json, statistics, sys, time
from pathlib import Path
try:
    from qa.build import build_index
except ImportError:
    from qa.index import build_index
try:
    from qa.evaluation.benchmarks import load_squad
    from qa.evaluation.questions import load_questions
except ImportError:
    from qa.benchmarks import load_squad
    from qa.evaluate import load_questions
from qa.articles import ReadReport
from qa.service import Assistant
from qa.settings import Settings
seed_index, squad_index, squad_file, questions_file, which = sys.argv[1:6]
def p95(xs):
    xs = sorted(xs); return xs[max(0, -(-len(xs) * 95 // 100) - 1)]
def run(index, qs):
    a = Assistant(Settings(index_dir=Path(index))); a.warm_up(); ts = []
    for q, h in qs:
        t = time.perf_counter(); a.ask(q, history=h); ts.append((time.perf_counter() - t) * 1000)
    return {"n": len(ts), "p50": round(statistics.median(ts), 1), "p95": round(p95(ts), 1)}
out = {}
if which in ("all", "seed"):
    out["seed"] = run(seed_index, [(q.question, list(q.history)) for q in load_questions(Path(questions_file))[:50]])
if which in ("all", "squad"):
    bench = load_squad(Path(squad_file))
    if not (Path(squad_index) / "CURRENT").exists():
        from qa.embed import MiniLMEmbedder
        build_index(ReadReport(articles=bench.articles), Path(squad_index), MiniLMEmbedder(), split=bench.split)
    out["squad"] = run(squad_index, [(q.question, []) for q in bench.questions[::15]])
print(json.dumps(out))
"""


def _env(tree: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}, **extra)
    return env


def _qa(tree: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=tree, env=_env(tree), capture_output=True, text=True, check=True, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_serve(tree: Path, index: Path) -> dict:
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--port", str(port)],
                            cwd=tree, env=_env(tree), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    body = json.dumps({"question": QUESTION}).encode()
    first = None
    try:
        while time.perf_counter() - t0 < 180:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as r:
                    if r.status == 200:
                        first = time.perf_counter() - t0
                        break
            except OSError:
                time.sleep(0.05)
        page = None
        while page is None and time.perf_counter() - t0 < 180:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
                if b"qa is starting" not in r.read():
                    page = time.perf_counter() - t0
            time.sleep(0.05 if page is None else 0)
        for _ in range(20):
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", data=body, headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).read()
        rss = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    return {"start_to_first_answer_s": round(first, 2) if first else None, "start_to_page_s": round(page, 2) if page else None, "rss_mb": round(rss)}


def bench_variant(tree: Path, tmp: Path) -> dict:
    index = tmp / "seed-index"
    _qa(tree, "build", "--seeds", str(tree / "seeds"), "--index", str(index), "--quiet")
    before = (index / "CURRENT").read_text()
    t0 = time.perf_counter()
    _qa(tree, "build", "--seeds", str(tree / "seeds"), "--index", str(index), "--quiet")
    noop = time.perf_counter() - t0
    new_version = (index / "CURRENT").read_text() != before
    asks, helps = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        _qa(tree, "ask", QUESTION, "--index", str(index))
        asks.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _qa(tree, "--help")
        helps.append(time.perf_counter() - t0)
    serve = bench_serve(tree, index)
    warm = json.loads(subprocess.run(
        [sys.executable, "-c", WARM, str(index), str(tmp / "squad-index"), str(SQUAD), str(tree / "eval" / "questions" / "seed.jsonl"), "all"],
        cwd=tree, env=_env(tree), capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    return {"noop_build_s": round(noop, 2), "noop_new_version": new_version, "cold_ask_median_s": round(statistics.median(asks), 2),
            "cold_ask_max_s": round(max(asks), 2), "help_median_s": round(statistics.median(helps), 3), **serve, "warm": warm}


def bench_threads(tree: Path, tmp: Path) -> dict:
    """Warm asks on the SQuAD-13 index with 1 and 2 threads, idle and beside two busy processes."""
    out = {}
    for load in (False, True):
        burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 if load else 0)]
        try:
            for threads in (1, 2):
                res = subprocess.run([sys.executable, "-c", WARM, str(tmp / "seed-index"), str(tmp / "squad-index"), str(SQUAD), "", "squad"],
                                     cwd=tree, env=_env(tree, QA_THREADS=str(threads)), capture_output=True, text=True, check=True)
                out[(load, threads)] = json.loads(res.stdout.strip().splitlines()[-1])["squad"]
        finally:
            for b in burners:
                b.kill()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also measure the tree of this git revision")
    parser.add_argument("--report", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.before:
            old = tmp / "before-tree"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            (tmp / "before").mkdir()
            results[f"before ({args.before[:10]})"] = bench_variant(old, tmp / "before")
        (tmp / "after").mkdir()
        results["this tree"] = bench_variant(ROOT, tmp / "after")
        threads = bench_threads(ROOT, tmp / "after")
    names = list(results)
    rows = [
        ("cold `qa ask` median / max s (5 runs)", lambda r: f"{r['cold_ask_median_s']} / {r['cold_ask_max_s']}"),
        ("`qa serve` launch to first answer s", lambda r: f"{r['start_to_first_answer_s']}"),
        ("`qa serve` launch to the chat page s", lambda r: f"{r['start_to_page_s']}"),
        ("serving process RSS MB after 20 questions (seed index)", lambda r: f"{r['rss_mb']}"),
        ("no-op `qa build` s (new version written?)", lambda r: f"{r['noop_build_s']} ({'yes' if r['noop_new_version'] else 'no'})"),
        ("warm ask p50 / p95 ms, 50 seed questions", lambda r: f"{r['warm']['seed']['p50']} / {r['warm']['seed']['p95']}"),
        ("warm ask p50 / p95 ms, 304 SQuAD-13 questions", lambda r: f"{r['warm']['squad']['p50']} / {r['warm']['squad']['p95']}"),
        ("`qa --help` median s", lambda r: f"{r['help_median_s']}"),
    ]
    lines = [
        f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| measure | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        *(f"| {label} | " + " | ".join(fmt(results[n]) for n in names) + " |" for label, fmt in rows),
        "",
        "Threads (this tree, warm ask p50 / p95 ms on 304 SQuAD-13 questions):",
        "",
        "| machine | 1 thread | 2 threads |",
        "|---|---:|---:|",
        *(f"| {'two busy processes beside it' if load else 'idle'} | {threads[(load, 1)]['p50']} / {threads[(load, 1)]['p95']} | "
          f"{threads[(load, 2)]['p50']} / {threads[(load, 2)]['p95']} |" for load in (False, True)),
    ]
    emit_benchmark(lines, args.report, "Ask, start and build speed", "eval/bench_ask.py" + (f" --before {args.before}" if args.before else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
