"""Run by tests as a subprocess: a real `build_index` with a slow fake embedder and slow
fsyncs, so that a SIGKILL can land in any phase of a build (embedding, writing, switching)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qa.store as store_module  # noqa: E402
from qa.build import build_index  # noqa: E402
from qa.seeds import read_seeds  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402


class SlowFake(FakeEmbedder):
    def encode(self, texts, show_progress=False):
        time.sleep(0.05 * len(texts))
        return super().encode(texts)


def main() -> None:
    seeds, index_dir = Path(sys.argv[1]), Path(sys.argv[2])
    real_fsync_dir = store_module.fsync_dir
    real_write_version = store_module.publish

    def slow_fsync_dir(path: Path) -> None:
        print(f"phase fsync {path.name}", flush=True)
        time.sleep(0.15)
        real_fsync_dir(path)

    def write_version(*args, **kwargs):
        print("phase writing", flush=True)
        return real_write_version(*args, **kwargs)

    store_module.fsync_dir = slow_fsync_dir
    store_module.publish = write_version
    print("started", flush=True)
    build_index(read_seeds(seeds), index_dir, SlowFake(), full=True)
    print("finished", flush=True)


if __name__ == "__main__":
    main()
