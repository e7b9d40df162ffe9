"""The process's native runtime, set in one place: offline switches and thread counts.

`prepare()` runs before onnxruntime, FAISS, BLAS, torch or gradio are imported (the CLI calls
it first thing; the library's model loaders call it too, so embedding qa elsewhere is safe):
- offline: onnxruntime's POSIX builds upload telemetry from native code (a DNS lookup and a
  TLS connection after the first inference) unless `ORT_DISABLE_TELEMETRY=1` is set before
  its environment starts; the Hugging Face libraries and gradio have their own switches.
  tests/test_offline.py watches every connect() of the whole process tree to prove it.
- threads: onnxruntime, FAISS (OpenMP), BLAS and torch each start their own pool sized to
  the machine, and on a busy 2-core laptop they fight each other and the web server. One
  number (`Settings.threads`, `QA_THREADS`) sizes them all; eval/bench_ask.py measured the
  default (docs/design.md).
"""

from __future__ import annotations

import os
import sys

OFFLINE_ENV = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_state: dict[str, int] = {}


def prepare(threads: int | None = None) -> int:
    """Sets the offline switches and the thread counts; returns the thread count in force.

    The first call with a number fixes it for the process (BLAS reads its variable once,
    when numpy loads); later calls keep it.
    """
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    if "threads" not in _state:
        if threads is None:
            from qa.settings import Settings

            threads = Settings.from_env().threads
        _state["threads"] = max(1, min(threads, os.cpu_count() or 1))
        if "numpy" not in sys.modules:
            for key in _THREAD_ENV:
                os.environ.setdefault(key, str(_state["threads"]))
    n = _state["threads"]
    if "faiss" in sys.modules:
        sys.modules["faiss"].omp_set_num_threads(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    return n


def ort_options(threads: int | None = None):
    """onnxruntime session options: our thread count, no busy-waiting between runs (a spinning
    pool stole the CPU from the work that runs next), quiet logs."""
    n = prepare(threads)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = n
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
