"""Bounded load test on loopback: N concurrent users asking for S seconds, twice — through
`POST /api/ask` and through the Gradio chat endpoint (gradio_client, via Gradio's queue).

    .venv/bin/python eval/bench_load.py [--users 20] [--seconds 60] [--report eval/reports/bench-load.md]

Serves the real app on indexes/default on a free 127.0.0.1 port; every user loops over the
seed questions; a reply counts as well-formed when it has the documented shape and text.
Stops by itself; sends nothing anywhere but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from qa.evaluation.questions import load_questions  # noqa: E402
from qa.evaluation.reports import emit_benchmark, machine_description  # noqa: E402
from qa.metrics import percentile  # noqa: E402
from qa.service import Assistant  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa_ui.app import build_app  # noqa: E402
from qa_ui.background import Server  # noqa: E402

KEYS = {"question", "answer", "abstained", "citations", "timings_ms"}


def run_users(users: int, seconds: float, one_request) -> dict:
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds

    def user(uid: int) -> None:
        i = uid
        state = {}
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                ok = one_request(i, state)
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    (latencies if ok else errors).append(ms if ok else "malformed reply")
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
            i += users

    threads = [threading.Thread(target=user, args=(u,)) for u in range(users)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return {
        "users": users, "seconds": round(time.monotonic() - t0, 1), "requests": len(latencies) + len(errors),
        "errors": len(errors), "first_errors": errors[:3],
        "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    from gradio_client import Client

    questions = [q for q in load_questions(ROOT / "eval" / "questions" / "seed.jsonl")]
    assistant = Assistant(Settings(index_dir=ROOT / "indexes" / "default"))
    assistant.warm_up()
    server = Server(build_app(assistant)).start()
    url = server.url

    def api(i: int, state: dict) -> bool:
        q = questions[i % len(questions)]
        body = json.dumps({"question": q.question, "history": list(q.history)}).encode()
        req = urllib.request.Request(url + "/api/ask", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            reply = json.loads(r.read())
        return r.status == 200 and KEYS <= set(reply) and bool(reply["answer"]) and (reply["abstained"] or bool(reply["citations"]))

    def chat(i: int, state: dict) -> bool:
        client = state.get("client") or state.setdefault("client", Client(url + "/", verbose=False))
        q = questions[i % len(questions)]
        out = client.predict(message=q.question, api_name="/chat")
        text = out[0] if isinstance(out, (list, tuple)) else out
        return isinstance(text, str) and bool(text.strip())

    results = {"POST /api/ask": run_users(args.users, args.seconds, api), "Gradio chat (queue)": run_users(args.users, args.seconds, chat)}
    server.stop()
    lines = [
        f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"Gradio queue: concurrency {assistant.settings.concurrency}, max size {assistant.settings.queue_size}",
        "",
        "| endpoint | users | seconds | requests | errors | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['users']} | {r['seconds']} | {r['requests']} | {r['errors']} | {r['p50_ms']} | {r['p95_ms']} |")
        if r["first_errors"]:
            lines.append(f"|  first errors: {'; '.join(map(str, r['first_errors']))} | | | | | | |")
    emit_benchmark(lines, args.report, "Load test", "eval/bench_load.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
