"""`qa train`: the resumable training loop and its checkpoint.

A run can be split over many sessions and machines: `qa train --resume` continues from the
checkpoint folder (default `checkpoints/reader/`, qa.training.checkpoint) exactly where the
last run stopped: same step, same position in the fixed item order (which also fixes the
learning-rate schedule, a pure function of the step), same RNG, same optimiser moments.

Each group's own random choices are seeded by its question id (qa.training.items), so a
resumed run draws what an uninterrupted one would. SIGINT/SIGTERM finish the current step
and save; the folder is replaced atomically, never half-written. The shipped model
(qa/models/reranker) changes only on `--export` or when the planned run completes.

We write the loop ourselves rather than use sentence-transformers' CrossEncoder trainer:
it has no multi-head (rank + answer + span) loss, no two-exit model, and its resume does
not restore our item order.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.training import checkpoint

DEFAULT_DATA = "../shared/data/squad-v1.1-train"
DEFAULT_CHECKPOINT = "checkpoints/reader"


@dataclass(frozen=True)
class TrainConfig:
    data: str = DEFAULT_DATA
    checkpoint: str = DEFAULT_CHECKPOINT
    out: str = "qa/models/reranker"
    layers: int = 6
    exits: tuple[int, ...] = (3, 6)
    export_exit: int = 0  # the exit to export; 0: the deepest
    epochs: float = 1.0  # planned passes over the training items (sets the LR schedule)
    questions: int = 0  # 0: every training item; N: only the first N (smoke runs)
    group: int = 8
    batch: int = 4  # groups per step
    lr: float = 5e-5
    warmup_steps: int = 300
    max_length: int = 96
    context: int = 0  # words of each sentence's predecessor read before it (qa.rerank.pair_text); 0: none
    init_from: str = ""  # a new run starts from this checkpoint's weights (not its optimiser or plan)
    seed: int = 13
    twins_every: int = 4  # every N-th question (by id) also gets a perturbed twin (qa.training.items.plan); 0: none
    headlines: float = 0.0  # share of groups read under headline-like titles (qa.training.items); 0: none
    threads: int = 2
    device: str = "auto"
    bf16: bool = True  # autocast on CPUs with bf16 units and on GPUs
    minutes: float = 0.0  # stop (and save) after this many minutes of this session; 0: none
    save_minutes: float = 15.0
    val_questions: int = 600
    val_every: int = 4000  # items between validation points
    export: bool = False  # export at the end of this session even if the plan is not done


# Settings that must not change across a resumed run (they define the model or its plan).
FIXED = ("data", "layers", "exits", "epochs", "questions", "group", "batch", "lr", "warmup_steps", "max_length", "context", "init_from", "seed", "twins_every", "headlines")


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise QAError("--device cuda: no CUDA device here; use --device cpu")
    return name


def _schedule(step: int, total: int, warmup: int) -> float:
    warm = max(1, min(warmup, total // 10 or 1))
    if step < warm:
        return (step + 1) / warm
    return max(0.1, 1.0 - 0.9 * (step - warm) / max(1, total - warm))


class Trainer:
    """Holds the model, the optimiser, the data and the run's state; `run` trains."""

    def __init__(self, config: TrainConfig, resume: bool, log: Callable[[str], None] = print) -> None:
        import torch

        from qa.embed import MiniLMEmbedder
        from qa.training.items import GroupMaker, plan
        from qa.training.model import build
        from qa.training.squad import load_corpus, mine

        self.log = log
        self.folder = Path(config.checkpoint)
        state = self._read_state() if resume else None
        if state is not None:
            saved = state["config"]
            changed = [k for k in FIXED if k in saved and _jsonable(getattr(config, k)) != saved[k] and getattr(config, k) != getattr(TrainConfig, k)]
            if changed:
                raise QAError(f"--resume keeps the run's {', '.join(changed)}; drop those flags or start a new run with another --checkpoint")
            kept: dict[str, Any] = {k: (tuple(saved[k]) if k == "exits" else saved[k]) for k in FIXED if k in saved}
            config = replace(config, **kept)
        elif resume:
            raise QAError(f"nothing to resume in {self.folder}: no state.json there; run `qa train` without --resume to start")
        config = replace(config, exits=tuple(sorted({min(e, config.layers) for e in config.exits})))
        if not config.export_exit:
            config = replace(config, export_exit=max(config.exits))
        if config.group < 2 or config.batch < 1 or config.minutes < 0 or config.export_exit not in config.exits:
            raise QAError("--group must be 2 or more, --batch 1 or more, --minutes 0 or more, and --exit one of the trained exits")
        self.config = config
        self.device = _device(config.device)
        torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        t0 = time.time()
        self.corpus = load_corpus(Path(config.data), seed=config.seed)
        if not self.corpus.questions:
            raise QAError(f"no usable training questions in {config.data}")
        mined_path = self.folder / "mined.jsonl.gz"
        if state is None and (self.folder / "state.json").exists():
            raise QAError(f"{self.folder} holds a run already; pass --resume to continue it, or another --checkpoint")
        if state is None and config.init_from:
            source = Path(config.init_from)
            if not (source / "weights.pt").is_file():
                raise QAError(f"--init-from {source}: no checkpoint there (weights.pt is missing)")
            if (source / mined_path.name).is_file() and not mined_path.is_file():  # the same mining serves both runs
                self.folder.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / mined_path.name, mined_path)
        self.mined = mine(self.corpus, mined_path, Path(".cache/train-mining"), MiniLMEmbedder(), log=log)
        self.items = plan(self.corpus, config.seed, config.twins_every)
        if config.questions:
            self.items = self.items[: config.questions]
        planned = int(len(self.items) * config.epochs) if not config.questions else len(self.items)
        self.total_steps = max(1, math.ceil(planned / config.batch))
        self.maker = GroupMaker(self.corpus, self.mined, config.group, config.seed, config.context, config.headlines)
        self.tokenizer_folder, self.tokenizer, self.model = build(config.layers, config.exits)
        self.model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
        self.model.to(self.device)
        self.named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW([p for _, p in self.named], lr=config.lr, weight_decay=0.01)
        start = 0 if state is not None else self._start_position(config)
        self.state = state or {
            "format": 1, "step": 0, "position": start, "start_position": start, "questions_seen": 0, "perturbed_seen": 0,
            "skipped": 0, "wall_seconds": 0.0, "sessions": [], "loss_curve": [], "val_curve": [],
        }
        self.state.setdefault("start_position", 0)  # runs saved before it was recorded all started at 0
        self.state["config"] = _jsonable(asdict(config))
        if state is not None:
            self._load_weights()
        elif config.init_from:
            checkpoint.load_weights(Path(config.init_from), self.named)
        log(f"{len(self.items)} training items ({len(self.corpus.questions)} questions, {len(self.corpus.validation)} held-out articles); "
            f"step {self.state['step']}/{self.total_steps} on {self.device}; ready in {time.time() - t0:.0f} s")

    @staticmethod
    def _start_position(config: TrainConfig) -> int:
        """Where a new run starts in the fixed item order: where its --init-from run stopped, so
        that a run continued from another's weights reads the items that one had not reached."""
        if not config.init_from:
            return 0
        source = checkpoint.read_state(Path(config.init_from))
        if source is None or source.get("config", {}).get("seed") != config.seed:
            return 0  # another order: its position means nothing here
        return int(source.get("position", 0))

    # --------------------------------------------------------------------- checkpoint

    def _read_state(self) -> dict | None:
        return checkpoint.read_state(self.folder)

    def _load_weights(self) -> None:
        checkpoint.load(self.folder, self.named, self.opt, self.state, self.device)

    def save(self) -> None:
        checkpoint.save(self.folder, self.named, self.opt, self.state)

    # --------------------------------------------------------------------- steps

    def _encode(self, groups):
        return self._encode_pairs([(g.question, t) for g in groups for t in g.texts])

    def _encode_pairs(self, pairs: list[tuple[str, str]]):
        return self.tokenizer([q for q, _ in pairs], [t for _, t in pairs], truncation="longest_first",
                              max_length=self.config.max_length, padding=True, return_tensors="pt", return_offsets_mapping=True)

    def _forward(self, enc):
        import torch

        feed = {k: enc[k].to(self.device) for k in ("input_ids", "attention_mask", "token_type_ids")}
        use_bf16 = self.config.bf16 and (self.device == "cuda" or cpu_bf16())
        with torch.autocast(device_type="cuda" if self.device == "cuda" else "cpu", dtype=torch.bfloat16, enabled=use_bf16):
            out = self.model(**feed)
        return {e: tuple(x.float() for x in v) for e, v in out.items()}

    def _loss(self, groups, enc, outputs):
        import torch
        import torch.nn.functional as F

        from qa.training.model import span_targets

        labels = torch.tensor([lab for g in groups for lab in g.labels], device=self.device)
        starts, rows = [], []
        at = 0
        for g in groups:
            if g.ranked and g.span is not None:
                t = span_targets(enc, at, g.span)
                if t is not None:
                    rows.append(at)
                    starts.append(t)
            at += len(g.texts)
        total = torch.zeros((), device=self.device)
        parts = {"rank": 0.0, "answer": 0.0, "span": 0.0}
        for e, (rank, answer, start, end) in outputs.items():
            weight = 1.0 if e == max(outputs) else 0.5
            at, listwise, n_ranked = 0, torch.zeros((), device=self.device), 0
            for g in groups:
                if g.ranked:
                    listwise = listwise + F.cross_entropy(rank[at : at + len(g.texts)].unsqueeze(0), torch.zeros(1, dtype=torch.long, device=self.device))
                    n_ranked += 1
                at += len(g.texts)
            listwise = listwise / max(1, n_ranked)
            pointwise = F.binary_cross_entropy_with_logits(answer, labels)
            span = torch.zeros((), device=self.device)
            if rows:
                idx = torch.tensor(rows, device=self.device)
                st = torch.tensor([s for s, _ in starts], device=self.device)
                en = torch.tensor([t for _, t in starts], device=self.device)
                span = (F.cross_entropy(start[idx], st) + F.cross_entropy(end[idx], en)) / 2
            total = total + weight * (listwise + 0.5 * pointwise + 0.5 * span)
            if e == max(outputs):
                parts = {"rank": float(listwise.detach()), "answer": float(pointwise.detach()), "span": float(span.detach())}
        return total, parts

    def _next_groups(self):
        """The next batch of groups from the fixed order (wrapping into the next epoch)."""
        from qa.training.items import ANSWERABLE

        groups = []
        while len(groups) < self.config.batch:
            n, kind = self.items[self.state["position"] % len(self.items)]
            self.state["position"] += 1
            g = self.maker.make(n, kind)
            if g is None:
                self.state["skipped"] += 1
                continue
            groups.append(g)
            self.state["questions_seen" if kind == ANSWERABLE else "perturbed_seen"] += 1
        return groups

    def run(self) -> bool:
        """Trains until the plan is done, the time budget is spent or a signal arrives; saves.
        Returns True when the planned run is complete."""
        import torch

        stop = {"now": False}

        def on_signal(signum, frame):
            stop["now"] = True
            self.log("stopping after this step (signal)")

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        cfg = self.config
        session = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "device": _describe(self.device),
                   "threads": cfg.threads, "from_step": self.state["step"], "steps": 0, "items": 0, "seconds": 0.0}
        self.state["sessions"].append(session)
        session_start = last_save = time.time()
        self._accounted = session_start
        window: list[tuple[float, dict]] = []
        try:
            if not self.state["val_curve"]:
                self.validate()
            self.model.train()
            while self.state["step"] < self.total_steps and not stop["now"]:
                lr = cfg.lr * _schedule(self.state["step"], self.total_steps, cfg.warmup_steps)
                for group in self.opt.param_groups:
                    group["lr"] = lr
                pos_before = self.state["position"]
                groups = self._next_groups()
                enc = self._encode(groups)
                loss, parts = self._loss(groups, enc, self._forward(enc))
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for _, p in self.named], 1.0)
                self.opt.step()
                self.opt.zero_grad(set_to_none=True)
                self.state["step"] += 1
                session["steps"] += 1
                session["items"] += self.state["position"] - pos_before
                window.append((float(loss.detach()), parts))
                now = time.time()
                session["seconds"] = round(now - session_start, 1)
                if self.state["step"] % 50 == 0 or self.state["step"] == self.total_steps:
                    self._record(window, session)
                    window = []
                if self.state["position"] // cfg.val_every != pos_before // cfg.val_every:
                    self.validate()
                    self.model.train()
                if now - last_save > cfg.save_minutes * 60:
                    self._checkpoint()
                    last_save = time.time()
                if cfg.minutes and session["seconds"] > cfg.minutes * 60:
                    self.log(f"time budget of {cfg.minutes:g} min reached")
                    break
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        if window:
            self._record(window, session)
        done = self.state["step"] >= self.total_steps
        if done and (not self.state["val_curve"] or self.state["val_curve"][-1]["position"] != self.state["position"]):
            self.validate()
        session["seconds"] = round(time.time() - session_start, 1)
        self._checkpoint()
        return done

    def _checkpoint(self) -> None:
        now = time.time()
        self.state["wall_seconds"] = round(self.state["wall_seconds"] + (now - self._accounted), 1)
        self._accounted = now
        self.save()
        self.log(f"checkpoint saved to {self.folder} (step {self.state['step']}, {self.state['questions_seen']} questions seen)")

    def _record(self, window, session: dict) -> None:
        loss = float(np.mean([w[0] for w in window]))
        parts = {k: round(float(np.mean([w[1][k] for w in window])), 4) for k in window[0][1]}
        self.state["loss_curve"].append({"step": self.state["step"], "position": self.state["position"], "loss": round(loss, 4), **parts})
        rate = session["items"] / max(1e-9, session["seconds"])
        self.log(f"step {self.state['step']}/{self.total_steps}  loss {loss:.3f} (rank {parts['rank']:.3f} answer {parts['answer']:.3f} "
                 f"span {parts['span']:.3f})  {rate:.2f} items/s  lr {self.opt.param_groups[0]['lr']:.2e}")

    # --------------------------------------------------------------------- validation

    def validate(self) -> dict:
        """Recall@1 over the first stage's best 6 (what the product reranks), answerability
        ROC-AUC (gold sentence, original vs perturbed question) and span exact match, per exit,
        on questions of held-out SQuAD-train articles."""
        from qa.training.validate import validate

        t0 = time.time()
        self.model.eval()
        point = validate(self, self.config.val_questions)
        point.update({"position": self.state["position"], "questions_seen": self.state["questions_seen"], "seconds": round(time.time() - t0, 1)})
        self.state["val_curve"].append(point)
        self.log("validation: " + json.dumps(point))
        return point

    def export(self) -> dict:
        from qa.training.export import export

        history = {k: self.state[k] for k in ("step", "position", "start_position", "questions_seen", "perturbed_seen", "wall_seconds", "sessions")}
        history["total_steps"] = self.total_steps
        history["config"] = self.state["config"]
        history["loss_curve"] = self.state["loss_curve"][-1:]
        history["val_curve"] = self.state["val_curve"]
        self.model.eval()
        return export(self.model.to("cpu"), self.tokenizer, Path(self.config.out), self.config.export_exit, self.config.max_length, history,
                      self.config.context)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


_BF16: list[bool] = []


def cpu_bf16() -> bool:
    """True when the CPU has native bf16 dot products (AVX512-BF16 or AMX)."""
    if not _BF16:
        try:
            flags = Path("/proc/cpuinfo").read_text()
            _BF16.append("avx512_bf16" in flags or "amx_bf16" in flags)
        except OSError:
            _BF16.append(False)
    return _BF16[0]


def _describe(device: str) -> str:
    import platform

    import torch

    if device == "cuda":
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def config_fields() -> list[str]:
    return [f.name for f in fields(TrainConfig)]
