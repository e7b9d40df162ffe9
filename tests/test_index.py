from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from qa.build import build_index
from qa.errors import IndexProblem, QAError
from qa.index import current_version_path, load_index
from qa.seeds import read_seeds
from qa.store import build_lock
from tests.conftest import FakeEmbedder


def test_build_writes_a_complete_version(tiny_index: Path):
    version = current_version_path(tiny_index)
    assert version is not None
    for name in ("manifest.json", "articles.jsonl", "sentences.jsonl", "vectors.npy", "dense.faiss", "bm25"):
        assert (version / name).exists(), name
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["model"] == "fake-bow" and manifest["model_sha256"] == "fake-bow-1"
    assert manifest["n_articles"] == 3
    assert set(manifest["articles"]) == {"harbour.txt", "orchard.md", "comet.txt"}
    assert all(len(a["hash"]) == 64 for a in manifest["articles"].values())
    assert manifest["n_sentences"] == sum(a["sentences"] for a in manifest["articles"].values())


def test_loaded_index_searches_both_ways(tiny_index: Path, fake_embedder: FakeEmbedder):
    index = load_index(tiny_index)
    assert len(index) == index.manifest["n_sentences"] == len(index.dense)
    q = fake_embedder.encode(["When was the comet visible?"])[0]
    ids, scores = index.dense_search(q, 3)
    assert len(ids) == 3 and scores[0] >= scores[1] >= scores[2]
    bm = index.bm25_scores("mayor repairs")
    best = index.sentences[int(np.argmax(bm))]
    assert "mayor" in best.text
    assert index.bm25_scores("zzzz qqqq").sum() == 0


def test_incremental_build_embeds_only_what_changed(tmp_path: Path, tiny_seeds: Path):
    emb = FakeEmbedder()
    index_dir = tmp_path / "idx"
    first = build_index(read_seeds(tiny_seeds), index_dir, emb)
    assert first.added == 3 and first.embedded == first.sentences
    emb.calls = 0
    same = build_index(read_seeds(tiny_seeds), index_dir, emb)
    assert (same.added, same.changed, same.removed, same.reused, same.embedded) == (0, 0, 0, 3, 0)
    assert emb.calls == 0
    (tiny_seeds / "comet.txt").write_text("A comet passed Mars. Nobody saw it.\n", encoding="utf-8")
    (tiny_seeds / "orchard.md").unlink()
    (tiny_seeds / "new.txt").write_text("Trains ran late in Leeds. Snow was blamed.\n", encoding="utf-8")
    changed = build_index(read_seeds(tiny_seeds), index_dir, emb)
    assert (changed.added, changed.changed, changed.removed, changed.reused) == (1, 1, 1, 1)
    assert emb.calls == changed.embedded + 1 == 2 + 2 + 1  # two new articles' sentences + one warm-up
    index = load_index(index_dir)
    assert {s.article_id for s in index.sentences} == {"harbour.txt", "comet.txt", "new.txt"}
    # reused vectors sit next to their own sentences
    fresh = FakeEmbedder().encode([s.text for s in index.sentences])
    assert np.allclose(np.asarray(index.vectors), fresh, atol=1e-6)


def test_full_rebuild_reembeds_everything(tmp_path: Path, tiny_seeds: Path):
    emb = FakeEmbedder()
    build_index(read_seeds(tiny_seeds), tmp_path / "i", emb)
    again = build_index(read_seeds(tiny_seeds), tmp_path / "i", emb, full=True)
    assert again.embedded == again.sentences and again.reused == 0


def test_old_versions_are_pruned(tmp_path: Path, tiny_seeds: Path):
    emb = FakeEmbedder()
    for _ in range(4):
        build_index(read_seeds(tiny_seeds), tmp_path / "i", emb, full=True)
    assert len(list((tmp_path / "i" / "versions").iterdir())) == 2


def test_a_build_with_nothing_changed_writes_nothing(tmp_path: Path, tiny_seeds: Path):
    emb = FakeEmbedder()
    first = build_index(read_seeds(tiny_seeds), tmp_path / "i", emb)
    calls = emb.calls
    again = build_index(read_seeds(tiny_seeds), tmp_path / "i", emb)
    assert again.unchanged and again.version == first.version and emb.calls == calls
    assert [p.name for p in (tmp_path / "i" / "versions").iterdir()] == [first.version]
    (tiny_seeds / "comet.txt").write_text("Astronomers spotted a second comet. It is faint.\n", encoding="utf-8")
    changed = build_index(read_seeds(tiny_seeds), tmp_path / "i", emb)
    assert not changed.unchanged and changed.changed == 1 and changed.version != first.version


def test_missing_index_says_run_build(tmp_path: Path):
    with pytest.raises(IndexProblem, match="run `qa build`"):
        load_index(tmp_path / "nothing")


def test_other_model_is_refused(tiny_index: Path):
    with pytest.raises(IndexProblem, match="built with model fake-bow.*qa build --full"):
        load_index(tiny_index, expected_model_sha256="something-else")


@pytest.mark.parametrize("victim", ["manifest.json", "dense.faiss", "sentences.jsonl", "vectors.npy"])
def test_damaged_files_are_named(tiny_index: Path, victim: str):
    path = current_version_path(tiny_index) / victim
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])
    with pytest.raises(IndexProblem, match=f"{victim}.*qa build --full"):
        load_index(tiny_index)


def test_missing_bm25_files_are_named(tiny_index: Path):
    for f in (current_version_path(tiny_index) / "bm25").iterdir():
        f.unlink()
    with pytest.raises(IndexProblem, match="bm25"):
        load_index(tiny_index)


def test_nothing_to_index_is_an_error(tmp_path: Path):
    (tmp_path / "s").mkdir()
    with pytest.raises(QAError, match="no articles"):
        build_index(read_seeds(tmp_path / "s"), tmp_path / "i", FakeEmbedder())
    assert current_version_path(tmp_path / "i") is None


def test_a_second_build_is_refused_while_one_runs(tmp_path: Path, tiny_seeds: Path):
    index_dir = tmp_path / "i"
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with build_lock(index_dir):
            held.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        with pytest.raises(IndexProblem, match="another `qa build`"):
            build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    finally:
        release.set()
        t.join()
    build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())  # free again afterwards


def test_failed_build_leaves_previous_version_in_service(tmp_path: Path, tiny_seeds: Path):
    index_dir = tmp_path / "i"
    build_index(read_seeds(tiny_seeds), index_dir, FakeEmbedder())
    before = current_version_path(index_dir)

    class Broken(FakeEmbedder):
        def encode(self, texts, show_progress=False):
            if texts != ["warm up"]:
                raise OSError("disk full")
            return super().encode(texts)

    (tiny_seeds / "new.txt").write_text("Something new happened. It was big.\n", encoding="utf-8")
    with pytest.raises(OSError):
        build_index(read_seeds(tiny_seeds), index_dir, Broken())
    assert current_version_path(index_dir) == before
    assert len(load_index(index_dir)) > 0
    assert not [p for p in (index_dir / "versions").iterdir() if p.name.startswith(".tmp")]


def test_faiss_index_is_exact_when_small_and_ivf_beyond():
    import faiss

    from qa.backends import DenseIndex

    rng = np.random.default_rng(1)
    centers = rng.normal(size=(50, 32)).astype(np.float32)
    x = centers[rng.integers(0, 50, 5000)] + 0.3 * rng.normal(size=(5000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact = DenseIndex.build(x, exact_up_to=10_000).faiss
    ivf = DenseIndex.build(x, exact_up_to=1_000).faiss
    assert isinstance(exact, faiss.IndexFlatIP) and isinstance(ivf, faiss.IndexIVFFlat)
    assert ivf.ntotal == exact.ntotal == 5000 and ivf.nprobe == 96
    q = x[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    _, truth = exact.search(q, 10)
    _, got = ivf.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)])
    assert recall >= 0.9


def test_unwritable_index_folder_is_one_clear_error(tmp_path: Path, tiny_seeds: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(IndexProblem, match="cannot write the index folder.*--index"):
        build_index(read_seeds(tiny_seeds), blocker / "idx", FakeEmbedder())
