"""Latency of the browser chat and the APIs, measured the way a user meets it.

    .venv/bin/python eval/bench_ui.py [--questions 20] [--report eval/reports/bench-ui.md]

Serves the real app (indexes/default) on a free loopback port and, for each question:
- in headless Chromium: time from pressing Enter to the first streamed text of the reply,
  and to the complete reply (the status line reports completion with the last chunk);
- through the Gradio chat endpoint (gradio_client, streaming): first chunk and last chunk;
- through `POST /api/ask`: the complete JSON reply.
Prints p50 and p95 of each, with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
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

WATCH = """
() => {
  window.__t0 = performance.now(); window.__first = null; window.__status = null; window.__last = null;
  const status0 = document.querySelector('#status').innerText;
  const n0 = document.querySelectorAll('[data-testid="bot"]').length;
  let text = '';
  new MutationObserver(() => {
    const bots = document.querySelectorAll('[data-testid="bot"]');
    const now = performance.now();
    if (bots.length > n0) {
      const t = bots[bots.length - 1].innerText.trim();
      if (t && window.__first === null) window.__first = now;
      if (t !== text) { text = t; window.__last = now; }
    }
    if (window.__status === null && document.querySelector('#status').innerText !== status0) window.__status = now;
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""
# The reply is complete when the status line has reported it (the app updates it with the
# last chunk) and the reply text has stopped changing: complete = max(status, last change).


def stats(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} / {percentile(values, 95):.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    questions = [q.question for q in load_questions(ROOT / "eval" / "questions" / "seed.jsonl") if not q.history][: args.questions]
    assistant = Assistant(Settings(index_dir=ROOT / "indexes" / "default"))
    assistant.warm_up()
    server = Server(build_app(assistant)).start()
    url = server.url

    first, done = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        for q in questions:
            page.goto(url + "/")
            page.wait_for_selector("#question textarea")
            page.wait_for_function("/\\d+ articles?\\b/.test(document.querySelector('#status').innerText)")  # "1 article · …"
            page.fill("#question textarea", q)
            page.evaluate(WATCH)
            page.keyboard.press("Enter")
            page.wait_for_function("window.__status !== null && window.__first !== null", timeout=30_000)
            time.sleep(0.5)  # let the last chunk render; its time is recorded by the observer
            t0, t1, t_status, t_last = page.evaluate("[window.__t0, window.__first, window.__status, window.__last]")
            t2 = max(t_status, t_last)
            first.append(t1 - t0)
            done.append(t2 - t0)
        browser.close()

    client = Client(url + "/", verbose=False)
    g_first, g_done = [], []
    for q in questions:
        t0 = time.perf_counter()
        job = client.submit(message=q, api_name="/chat")
        got_first = None
        for _ in job:
            if got_first is None:
                got_first = time.perf_counter()
        job.result()
        g_first.append(((got_first or time.perf_counter()) - t0) * 1000)
        g_done.append((time.perf_counter() - t0) * 1000)

    http = []
    for q in questions:
        t0 = time.perf_counter()
        req = urllib.request.Request(url + "/api/ask", data=json.dumps({"question": q}).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            json.loads(r.read())
        http.append((time.perf_counter() - t0) * 1000)
    server.stop()

    lines = [
        f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {len(questions)} questions from eval/questions/seed.jsonl",
        "",
        "| path | first text p50 / p95 ms | complete reply p50 / p95 ms |",
        "|---|---:|---:|",
        f"| browser (Enter -> text on screen) | {stats(first)} | {stats(done)} |",
        f"| Gradio chat endpoint (gradio_client, streaming) | {stats(g_first)} | {stats(g_done)} |",
        f"| POST /api/ask (JSON) | — | {stats(http)} |",
    ]
    emit_benchmark(lines, args.report, "Chat latency benchmark", "eval/bench_ui.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
