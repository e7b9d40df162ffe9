"""all-MiniLM-L6-v2 as an ONNX graph, written from the package's checksummed weights with numpy.

Why: importing torch and sentence-transformers to embed one short question cost about 80% of
a cold `qa ask` (7-9 s on 2 cores). onnxruntime, which already runs the reranker, runs this
graph instead; torch is then needed only to train.

Why not `torch.onnx.export`: that needs torch at run time, the very thing we avoid. The graph
is small and standard (BERT: embeddings + LayerNorm, 6 x [self-attention, LayerNorm, GELU
feed-forward, LayerNorm], then mean pooling over the attention mask), so we write it
directly with `onnx.helper`, reading `model.safetensors` after its sha256 is checked. The
output is the mean-pooled, L2-normalised sentence vector, as sentence-transformers gives;
tests/test_embed.py checks cosine >= 0.999 against sentence-transformers on 1,000 real
sentences (it is ~1.0: same float32 arithmetic, different order).

The file is written once into the cache folder with a `.sha256` beside it; a cached file
whose hash does not match is written again, never used.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

GRAPH_VERSION = "1"  # bump when the graph below changes: the cache key includes it (and the tuned tensors' hash)
HEADS = 12
EPS = 1e-12


def cache_file(cache_dir: Path, weights_sha256: str) -> Path:
    return Path(cache_dir) / f"minilm-l6-{weights_sha256[:16]}-g{GRAPH_VERSION}.onnx"


def cached_graph(model_folder: Path, cache_dir: Path, weights_sha256: str, tuned: tuple[Path, str] | None = None) -> Path:
    """The ONNX file for the packaged model, with the tuned tensors (path, sha256, checked by
    qa.embed.tuned_weights) laid over it when given: from the cache when its checksum holds,
    else written now (about a second) from the verified safetensors weights."""
    from qa.embed import sha256_file, tuned_fingerprint, verify_weights

    target = cache_file(cache_dir, tuned_fingerprint(tuned[1]) if tuned else weights_sha256)

    sidecar = target.with_name(target.name + ".sha256")
    if target.is_file() and sidecar.is_file():
        try:
            if sidecar.read_text(encoding="utf-8").strip() == sha256_file(target):
                return target
        except OSError:
            pass
    verify_weights(model_folder, weights_sha256)
    data = build_graph(weights(model_folder / "model.safetensors", tuned[0] if tuned else None)).SerializeToString()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".minilm-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        digest = hashlib.sha256(data).hexdigest()
        os.replace(tmp, target)
        tmp_sidecar = sidecar.with_name(sidecar.name + f".{os.getpid()}")
        tmp_sidecar.write_text(digest + "\n", encoding="utf-8")
        os.replace(tmp_sidecar, sidecar)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def weights(base: Path, tuned: Path | None = None) -> dict[str, np.ndarray]:
    """The packaged tensors, float32, with the tuned ones (same names and shapes) in their place."""
    from safetensors.numpy import load_file

    from qa.errors import ModelProblem

    w = load_file(str(base))
    for name, t in (load_file(str(tuned)) if tuned else {}).items():
        if name not in w or w[name].shape != t.shape:
            raise ModelProblem(f"the tuned encoder {tuned} does not fit the packaged model ({name}); reinstall qa (.venv/bin/pip install -e .)")
        w[name] = t.astype(np.float32)
    return w


def build_graph(w: dict[str, np.ndarray]):
    """The ONNX model of the BERT tensors `w`: input_ids, attention_mask (int64, [batch, tokens])
    -> embedding [batch, 384]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(array: np.ndarray, prefix: str = "c") -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def op(kind: str, inputs: list[str], **attrs) -> str:
        out = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        return op("Add", [op("MatMul", [x, const(w[f"{prefix}.weight"].T.copy())]), const(w[f"{prefix}.bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, const(w[f"{prefix}.weight"]), const(w[f"{prefix}.bias"])], axis=-1, epsilon=EPS)

    hidden = w["embeddings.word_embeddings.weight"].shape[1]
    head_dim = hidden // HEADS
    layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("encoder.layer."))
    # Embeddings: word + position + token type (all type 0 for one sentence).
    tokens = op("Gather", [op("Shape", ["input_ids"]), const(np.array(1, dtype=np.int64))], axis=0)
    positions = op("Unsqueeze", [op("Range", [const(np.array(0, dtype=np.int64)), tokens, const(np.array(1, dtype=np.int64))]), const(np.array([0], dtype=np.int64))])
    x = op("Add", [op("Gather", [const(w["embeddings.word_embeddings.weight"], "word"), "input_ids"]),
                   op("Gather", [const(w["embeddings.position_embeddings.weight"], "pos"), positions])])
    x = op("Add", [x, const(w["embeddings.token_type_embeddings.weight"][0])])
    x = layer_norm(x, "embeddings.LayerNorm")
    # Attention bias: 0 where attended, -10000 at padding ([batch, 1, 1, tokens]).
    mask_f = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = op("Mul", [op("Sub", [const(np.array(1.0, dtype=np.float32)), mask_f]), const(np.array(-10000.0, dtype=np.float32))])
    bias = op("Unsqueeze", [bias, const(np.array([1, 2], dtype=np.int64))])
    split_shape = const(np.array([0, 0, HEADS, head_dim], dtype=np.int64))
    merge_shape = const(np.array([0, 0, hidden], dtype=np.int64))
    scale = const(np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    for i in range(layers):
        p = f"encoder.layer.{i}"

        def heads(t: str) -> str:
            return op("Transpose", [op("Reshape", [t, split_shape])], perm=[0, 2, 1, 3])

        q = heads(linear(x, f"{p}.attention.self.query"))
        k = op("Transpose", [op("Reshape", [linear(x, f"{p}.attention.self.key"), split_shape])], perm=[0, 2, 3, 1])
        v = heads(linear(x, f"{p}.attention.self.value"))
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), bias])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(op("Add", [x, linear(ctx, f"{p}.attention.output.dense")]), f"{p}.attention.output.LayerNorm")
        h = linear(x, f"{p}.intermediate.dense")
        # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
        gelu = op("Mul", [op("Mul", [h, const(np.array(0.5, dtype=np.float32))]),
                          op("Add", [op("Erf", [op("Div", [h, const(np.array(np.sqrt(2.0), dtype=np.float32))])]), const(np.array(1.0, dtype=np.float32))])])
        x = layer_norm(op("Add", [x, linear(gelu, f"{p}.output.dense")]), f"{p}.output.LayerNorm")
    # Mean over attended tokens, then L2 normalisation.
    m = op("Unsqueeze", [mask_f, const(np.array([2], dtype=np.int64))])
    summed = op("ReduceSum", [op("Mul", [x, m]), const(np.array([1], dtype=np.int64))], keepdims=0)
    count = op("Clip", [op("ReduceSum", [m, const(np.array([1], dtype=np.int64))], keepdims=0), const(np.array(1e-9, dtype=np.float32))])
    mean = op("Div", [summed, count])
    norm = op("Clip", [op("ReduceL2", [mean], axes=[1], keepdims=1), const(np.array(1e-12, dtype=np.float32))])
    nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="qa")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
