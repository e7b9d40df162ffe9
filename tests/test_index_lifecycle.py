"""Index lifecycle under stress: kill -9 during a real build subprocess, and live reload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from qa.build import build_index
from qa.index import current_version_path, load_index
from qa.seeds import read_seeds
from qa.service import Assistant
from qa.settings import Settings
from tests.conftest import ROOT, FakeEmbedder


def _worker(seeds: Path, index_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "build_worker.py"), str(seeds), str(index_dir)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "started"
    return proc


def test_kill_9_at_any_moment_leaves_a_loadable_index(tmp_path: Path, tiny_seeds: Path):
    index_dir = tmp_path / "idx"
    build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    (tiny_seeds / "extra.txt").write_text("A new bridge opened in Galway. Crowds cheered.\n", encoding="utf-8")
    # one uninterrupted run, to know how long a build takes and what phases it goes through
    t0 = time.monotonic()
    full = _worker(tiny_seeds, tmp_path / "timing")
    phases = [line.strip() for line in full.stdout]
    duration = time.monotonic() - t0
    assert full.wait() == 0 and phases[-1] == "finished"

    killed_in = []
    for fraction in (0.05, 0.2, 0.35, 0.5, 0.65, 0.75, 0.85, 0.95):
        before = current_version_path(index_dir)
        proc = _worker(tiny_seeds, index_dir)
        time.sleep(duration * fraction)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        seen = [line.strip() for line in proc.stdout]
        killed_in.append(seen[-1] if seen else "embedding")
        after = current_version_path(index_dir)
        index = load_index(index_dir)  # never raises: the old version or the new one, each complete
        assert after == before or (after is not None and after.parent == index_dir / "versions")
        ids = {s.article_id for s in index.sentences}
        assert ids in ({"harbour.txt", "orchard.md", "comet.txt"}, {"harbour.txt", "orchard.md", "comet.txt", "extra.txt"})
    # the kills landed in different phases: before writing, while writing, around the switch
    assert len(set(killed_in)) >= 3, killed_in
    # the lock died with the process: the next build runs and clears half-written folders
    build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    assert "extra.txt" in {s.article_id for s in load_index(index_dir).sentences}
    assert not [p for p in (index_dir / "versions").iterdir() if p.name.startswith(".tmp")]


def test_running_assistant_follows_a_rebuild(tmp_path: Path, tiny_seeds: Path):
    emb = FakeEmbedder()
    index_dir = tmp_path / "idx"
    build_index(read_seeds(tiny_seeds), index_dir, emb)
    assistant = Assistant(Settings(index_dir=index_dir, abstain_below=0.0), embedder=emb)
    in_flight = assistant.retriever()  # what a question being answered holds
    before = assistant.status()
    (tiny_seeds / "bridge.txt").write_text("A new bridge opened in Galway on Friday. Crowds cheered.\n", encoding="utf-8")
    build_index(read_seeds(tiny_seeds), index_dir, emb)
    ans = assistant.ask("Where did the new bridge open?")
    assert ans.citations[0].article_id == "bridge.txt"
    after = assistant.status()
    assert after.articles == before.articles + 1 and after.version != before.version
    # the question in flight keeps the version it started with
    assert {s.article_id for s in in_flight.index.sentences} == {"harbour.txt", "orchard.md", "comet.txt"}
    assert len(in_flight.search("bridge Galway", k=3)) > 0


def test_server_follows_a_rebuild_while_answering(tmp_path: Path, tiny_seeds: Path):
    import json
    import threading
    import urllib.request

    from qa_ui.app import build_app
    from qa_ui.background import Server

    emb = FakeEmbedder()
    index_dir = tmp_path / "idx"
    build_index(read_seeds(tiny_seeds), index_dir, emb)
    assistant = Assistant(Settings(index_dir=index_dir, abstain_below=0.0), embedder=emb)

    def ask(url: str, question: str) -> dict:
        req = urllib.request.Request(url + "/api/ask", data=json.dumps({"question": question}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    with Server(build_app(assistant)) as server:
        with urllib.request.urlopen(server.url + "/api/status") as r:
            before = json.loads(r.read())
        errors, answered, stop = [], [], threading.Event()

        def keep_asking() -> None:
            while not stop.is_set():
                try:
                    answered.append(ask(server.url, "What did the mayor say?"))
                except Exception as exc:  # noqa: BLE001 - any failure fails the test below
                    errors.append(exc)

        worker = threading.Thread(target=keep_asking)
        worker.start()
        for i in range(3):
            (tiny_seeds / f"bridge{i}.txt").write_text(f"Bridge number {i} opened in Galway on Friday. Crowds cheered.\n", encoding="utf-8")
            build_index(read_seeds(tiny_seeds), index_dir, emb)
        stop.set()
        worker.join(30)
        with urllib.request.urlopen(server.url + "/api/status") as r:
            after = json.loads(r.read())
        assert errors == [] and len(answered) > 0
        assert all(a["citations"] and "mayor" in a["citations"][0]["text"] for a in answered)
        assert after["articles"] == before["articles"] + 3 and after["version"] != before["version"]
        assert ask(server.url, "Which bridge number opened in Galway?")["citations"][0]["article_id"].startswith("bridge")
