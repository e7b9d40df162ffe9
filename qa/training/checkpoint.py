"""A training run's checkpoint folder: small, complete, replaced atomically.

    weights.pt        the trainable weights in fp16 (the frozen word embeddings come from the
                      MiniLM package); fp16 rounding once per save is far below an update's size
    optimizer.pt      AdamW's moments in bf16 (fp16 would underflow the second moment), its step
    state.json        settings, step, item position, torch's RNG, questions seen, wall time,
                      the sessions (where each ran), the loss and validation curves
    mined.jsonl.gz    the first stage's hard negatives, mined once (qa.training.squad.mine)

A save writes a sibling temp folder, fsyncs every file and swaps it in with two renames;
a kill leaves either the old folder or the new one (and at worst a stale temp folder that
the next save removes).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

from qa.errors import QAError


def read_state(folder: Path) -> dict | None:
    path = folder / "state.json"
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or "step" not in state or "config" not in state:
            raise ValueError
        return state
    except (ValueError, RecursionError):
        raise QAError(f"{path} is damaged; restore it with `git checkout -- {folder}`") from None


def torch_load(path: Path, folder: Path):
    import torch

    if not path.is_file():
        raise QAError(f"no checkpoint in {folder}: {path.name} is missing")
    try:
        return torch.load(path, map_location="cpu")
    except (OSError, RuntimeError, EOFError) as e:
        raise QAError(f"checkpoint in {folder} is damaged ({type(e).__name__}); restore it with `git checkout -- {folder}`") from None


def load_weights(folder: Path, named: list) -> None:
    """The trainable weights alone, from `folder` (a new run that starts from another's model)."""
    import torch

    weights = torch_load(folder / "weights.pt", folder)
    missing = [n for n, _ in named if n not in weights]
    if missing:
        raise QAError(f"checkpoint in {folder} lacks {missing[0]}; it was written by another model shape")
    with torch.no_grad():
        for n, p in named:
            p.copy_(weights[n].to(p.dtype))


def load(folder: Path, named: list, opt, state: dict, device: str) -> None:
    """Trainable weights, the optimiser's moments and torch's RNG, from `folder`."""
    import torch

    load_weights(folder, named)
    moments = torch_load(folder / "optimizer.pt", folder)
    for n, p in named:
        if n in moments["exp_avg"]:
            opt.state[p] = {
                "step": torch.tensor(float(moments["step"])),
                "exp_avg": moments["exp_avg"][n].float().to(device),
                "exp_avg_sq": moments["exp_avg_sq"][n].float().to(device),
            }
    rng = state.get("rng", {}).get("torch")
    if rng:
        torch.set_rng_state(torch.frombuffer(bytearray(base64.b64decode(rng)), dtype=torch.uint8))


def save(folder: Path, named: list, opt, state: dict) -> None:
    """Writes the checkpoint into a temp folder, then swaps it in."""
    import torch

    tmp = folder.with_name(f".{folder.name}-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        torch.save({n: p.detach().to("cpu", torch.float16) for n, p in named}, tmp / "weights.pt")
        exp_avg, exp_avg_sq, step = {}, {}, 0
        for n, p in named:
            st = opt.state.get(p)
            if st:
                exp_avg[n] = st["exp_avg"].to("cpu", torch.bfloat16)
                exp_avg_sq[n] = st["exp_avg_sq"].to("cpu", torch.bfloat16)
                step = int(st["step"])
        torch.save({"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "step": step}, tmp / "optimizer.pt")
        state["rng"] = {"torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()}
        (tmp / "state.json").write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        mined = folder / "mined.jsonl.gz"
        if mined.is_file():
            shutil.copy2(mined, tmp / mined.name)
        for f in tmp.iterdir():
            with open(f, "rb") as h:
                os.fsync(h.fileno())
        old = folder.with_name(f".{folder.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
