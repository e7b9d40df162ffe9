"""The ONNX MiniLM (qa/minilm_onnx.py) against sentence-transformers, and its cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED

WIKINEWS = SHARED / "data" / "wikinews-478" / "articles"
SQUAD = SHARED / "data" / "squad-v1.1-dev-13" / "dev-v1.1-13-articles.json"


class SentenceTransformerEmbedder:
    """The reference: sentence-transformers on torch, as qa used before (tests only)."""

    name, dim = "all-MiniLM-L6-v2", 384

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        from qa.embed import model_path

        self.model = SentenceTransformer(str(model_path()), device="cpu")

    def fingerprint(self) -> str:
        from qa.embed import MODEL_SHA256

        return MODEL_SHA256

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return np.asarray(self.model.encode(texts, batch_size=64, normalize_embeddings=True), dtype=np.float32)


def _real_sentences(n: int) -> list[str]:
    from qa.seeds import read_seeds
    from qa.sentences import split_article

    out: list[str] = []
    for article in read_seeds(WIKINEWS).articles:
        out += [s.text for s in split_article(article)]
        if len(out) >= n:
            break
    return out[:n]


@pytest.fixture(scope="module")
def reference():
    return SentenceTransformerEmbedder()


@pytest.mark.model
def test_onnx_minilm_matches_sentence_transformers_on_1000_real_sentences(reference):
    from qa.embed import MiniLMEmbedder

    sentences = _real_sentences(1000)
    assert len(sentences) == 1000
    ours, theirs = MiniLMEmbedder(tuned=False).encode(sentences), reference.encode(sentences)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, f"lowest cosine {cosines.min():.5f}: {sentences[int(cosines.argmin())]!r}"
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)


@pytest.mark.model
@pytest.mark.bench
def test_first_stage_recall_on_squad13_is_the_same_with_either_embedder(tmp_path: Path, reference):
    from qa.articles import ReadReport
    from qa.build import build_index
    from qa.embed import MiniLMEmbedder
    from qa.evaluation.benchmarks import load_squad
    from qa.index import load_index
    from qa.metrics import recall_at
    from qa.retrieve import Retriever

    bench = load_squad(SQUAD)
    recalls = {}
    for name, embedder in (("onnx", MiniLMEmbedder(tuned=False)), ("torch", reference)):
        build_index(ReadReport(articles=bench.articles), tmp_path / name, embedder, split=bench.split)
        retriever = Retriever(load_index(tmp_path / name), embedder, rerank_depth=0)
        vectors = embedder.encode([q.question for q in bench.questions])
        ranks = []
        for q, v in zip(bench.questions, vectors):
            keys = [(h.sentence.article_id, h.sentence.index) for h in retriever.first_stage(q.question, 5, v)]
            ranks.append(next((i + 1 for i, k in enumerate(keys) if k in q.gold), None))
        recalls[name] = (recall_at(ranks, 1), recall_at(ranks, 5))
    assert abs(recalls["onnx"][0] - recalls["torch"][0]) <= 0.002 and abs(recalls["onnx"][1] - recalls["torch"][1]) <= 0.002, recalls


@pytest.mark.model
def test_a_damaged_cached_graph_is_written_again_not_used(tmp_path: Path):
    from qa.embed import MODEL_SHA256, MiniLMEmbedder, model_path
    from qa.minilm_onnx import cache_file, cached_graph

    graph = cached_graph(model_path(), tmp_path, MODEL_SHA256)
    assert graph == cache_file(tmp_path, MODEL_SHA256) and graph.with_name(graph.name + ".sha256").is_file()
    good = graph.read_bytes()
    graph.write_bytes(good[: len(good) // 2])  # truncated by a crash or a full disk
    again = cached_graph(model_path(), tmp_path, MODEL_SHA256)
    assert again.read_bytes() == good
    vec = MiniLMEmbedder(cache_dir=tmp_path).encode(["The harbour reopened."])
    assert vec.shape == (1, 384) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4


@pytest.mark.model
def test_the_shipped_tuned_encoder_is_its_tensors_over_the_packaged_model(tmp_path: Path):
    """The graph the product embeds with against torch's BertModel carrying the same shipped
    tensors (qa/models/encoder/tuned.safetensors), on real sentences."""
    import torch
    from safetensors.torch import load_file

    from qa.embed import ENCODER_DIR, MiniLMEmbedder
    from qa.training.first_stage import encoder, mean_pooled

    tokenizer, model = encoder()
    model.load_state_dict({k: v.float() for k, v in load_file(str(ENCODER_DIR / "tuned.safetensors")).items()}, strict=False)
    model.eval()
    sentences = _real_sentences(200)
    with torch.no_grad():
        theirs = mean_pooled(tokenizer, model, sentences, 256).numpy()
    ours = MiniLMEmbedder(cache_dir=tmp_path).encode(sentences)
    assert (ours * theirs).sum(axis=1).min() >= 0.999
    assert (ours * MiniLMEmbedder(tuned=False, cache_dir=tmp_path).encode(sentences)).sum(axis=1).mean() < 0.98  # it is tuned


def test_the_tuned_encoder_is_checked_before_use_and_can_be_turned_off(tmp_path: Path, monkeypatch):
    import shutil

    from qa.embed import ENCODER_DIR, MODEL_NAME, MODEL_SHA256, MiniLMEmbedder, tuned_weights
    from qa.errors import ModelProblem
    from qa.settings import Settings

    folder = tmp_path / "encoder"
    shutil.copytree(ENCODER_DIR, folder)
    assert tuned_weights(folder)[1] == tuned_weights()[1]
    with open(folder / "tuned.safetensors", "r+b") as f:  # one byte altered
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ModelProblem, match="altered.*git checkout.*QA_TUNED_ENCODER=0"):
        MiniLMEmbedder(tuned_folder=folder)
    (folder / "encoder.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelProblem, match="missing or damaged"):
        MiniLMEmbedder(tuned_folder=folder)
    monkeypatch.setenv("QA_TUNED_ENCODER", "0")
    plain = MiniLMEmbedder.configured(Settings.from_env())
    assert plain.fingerprint() == MODEL_SHA256 and plain.name == MODEL_NAME
    monkeypatch.setenv("QA_TUNED_ENCODER", "1")
    assert MiniLMEmbedder.configured(Settings.from_env()).fingerprint() != MODEL_SHA256
