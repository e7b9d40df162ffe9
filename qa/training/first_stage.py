"""Training the first stage's sentence encoder on SQuAD train: the next training line.

Why. The reader reads only what the first stage ranks in its best 6 to 10, and on SQuAD-13
the first stage's best 10 hold the answer sentence 92% of the time: the recall@5 goal (0.95)
cannot be reached by reading deeper (docs/reranker.md), and a third of the wrong replies that
quote the gold sentence's neighbour never had the gold sentence among those read. The
encoder, all-MiniLM-L6-v2, was trained on general sentence pairs, not on questions against
the sentence that answers them; the reader's own training (259,704 questions) has flattened.

Recipe. (question, gold sentence) pairs of the training articles of SQuAD v1.1 train (the
26 validation articles never), each with `negatives` hard negatives mined by the product's
own first stage (the reader's `mined.jsonl.gz`, a sentence holding the answer never counts),
and every other sentence of the batch as a further negative; softmax over 20 x cosine (mean
pooled, as the product embeds); word embeddings frozen; AdamW, linear warm-up then decay
over one planned pass; the same checkpoint folder format as the reader's (resumable, saved
atomically every 15 minutes and on SIGINT/SIGTERM).

Validation: the validation articles' questions (at most 600) against all their sentences,
dense recall@1/5/20 and MRR@20; the row at step 0 is the packaged encoder (or, for a second
round, the encoder it starts from).

Into the product: `--export-only` writes the run's tensors, interpolated `--mix` of the way
from the packaged weights (0.4; why: docs/reranker.md), to qa/models/encoder, which qa.embed
lays over the packaged MiniLM; indexes are then rebuilt once (their fingerprint changes).
A second round (`--init-from DIR`) starts from another run's encoder and mines its hard
negatives afresh with it.

    python -m qa.training.first_stage [--resume] [--minutes M] [--questions N] [--checkpoint DIR]
        [--init-from DIR] [--export-only [--mix A] [--out DIR]]
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from qa.errors import QAError
from qa.training import checkpoint
from qa.training.squad import Corpus, norm

SCALE = 20.0
ENCODER_OUT = Path(__file__).resolve().parents[1] / "models" / "encoder"
# The product's encoder is the packaged one moved 0.4 of the way to the trained one (WiSE-FT):
# the full move gains most on SQuAD (Wikipedia, as the training) but loses news questions;
# 0.4 gave the most right outcomes over the project's five news sets (docs/reranker.md).
MIX = 0.4
SAVE_EVERY_S = 15 * 60


@dataclass(frozen=True)
class StageConfig:
    data: str = "../shared/data/squad-v1.1-train"
    checkpoint: str = "checkpoints/first-stage"
    mined_from: str = "checkpoints/reader"  # whose mined.jsonl.gz to reuse (the same corpus and seed)
    batch: int = 32
    negatives: int = 2
    lr: float = 2e-5
    warmup: int = 200
    epochs: float = 1.0
    max_length: int = 64
    seed: int = 13
    threads: int = 2
    validate_every: int = 400
    validation_questions: int = 600
    questions: int = 0  # 0: all (smoke runs train on the first N)
    init_from: str = ""  # a checkpoint whose encoder a new run starts from (a second round)


def training_pairs(corpus: Corpus, mined: dict, seed: int, negatives: int) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(question, gold sentence, hard negatives, normalised answers) for every question of the
    training articles, in a fixed shuffled order; a negative never holds the answer text nor is
    the gold sentence."""
    out = []
    for q in corpus.questions:
        if q.article in corpus.validation:
            continue
        gold = corpus.sentences[q.article][q.gold].text
        answers = [f" {norm(a)} " for a in q.answers if norm(a)]
        negs: list[str] = []
        for a, s in ((h[0], h[1]) for h in mined.get(q.qid, [])):
            text = corpus.sentences[a][s].text
            if len(negs) < negatives and (a, s) != (q.article, q.gold) and text != gold and not any(x in f" {norm(text)} " for x in answers):
                negs.append(text)
        out.append((q.question, gold, tuple(negs), tuple(answers)))
    random.Random(seed).shuffle(out)
    return out


def contrastive_targets(batch: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]) -> tuple[list[str], list[int], list[list[bool]]]:
    """The batch's passages (gold sentences and hard negatives, each once), the column of each
    question's gold sentence, and the columns that must not count as its negatives: another
    question's sentence that holds its answer (questions of one paragraph share sentences)."""
    passages = list(dict.fromkeys([g for _, g, _, _ in batch] + [n for _, _, negs, _ in batch for n in negs]))
    column = {p: j for j, p in enumerate(passages)}
    targets = [column[g] for _, g, _, _ in batch]
    padded = [f" {norm(p)} " for p in passages]
    masked = [[j != t and any(a in padded[j] for a in answers) for j in range(len(passages))]
              for (_, _, _, answers), t in zip(batch, targets)]
    return passages, targets, masked


class StageTrainer:
    def __init__(self, config: StageConfig, resume: bool, log=print) -> None:
        import torch

        from qa.embed import MiniLMEmbedder
        from qa.training.squad import load_corpus, mine

        self.config, self.log, self.folder = config, log, Path(config.checkpoint)
        state = checkpoint.read_state(self.folder) if resume else None
        if resume and state is None:
            raise QAError(f"nothing to resume in {self.folder}: no state.json there; start without --resume")
        if not resume and (self.folder / "state.json").exists():
            raise QAError(f"{self.folder} holds a run already; pass --resume to continue it, or another --checkpoint")
        if state is not None and not config.init_from:  # a resumed second round keeps its origin
            config = replace(config, init_from=state.get("config", {}).get("init_from", ""))
            self.config = config
        torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.corpus = load_corpus(Path(config.data), seed=config.seed)
        if not self.corpus.questions:
            raise QAError(f"no usable training questions in {config.data}")
        mined_path = self.folder / "mined.jsonl.gz"
        source = Path(config.mined_from) / mined_path.name
        if source.is_file() and not mined_path.is_file() and not config.init_from:  # a second round mines afresh
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, mined_path)
        # negatives from the encoder the run starts from: the shipped one, or a first round's
        miner = TrainedEmbedder(Path(config.init_from)) if config.init_from else MiniLMEmbedder(tuned=False)
        mined = mine(self.corpus, mined_path, Path(".cache/train-mining"), miner, log=log)
        self.pairs = training_pairs(self.corpus, mined, config.seed, config.negatives)
        if config.questions:
            self.pairs = self.pairs[: config.questions]
        self.total_steps = max(1, math.ceil(len(self.pairs) * (config.epochs if not config.questions else 1) / config.batch))
        self.tokenizer, self.model = encoder(Path(config.init_from) if config.init_from and state is None else None)
        self.model.embeddings.word_embeddings.weight.requires_grad_(False)
        self.named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW([p for _, p in self.named], lr=config.lr, weight_decay=0.01)
        self.state = state or {"format": 1, "step": 0, "position": 0, "questions_seen": 0, "wall_seconds": 0.0,
                               "sessions": [], "loss_curve": [], "val_curve": []}
        self.state["config"] = asdict(config)
        if state is not None:
            checkpoint.load(self.folder, self.named, self.opt, self.state, "cpu")
        log(f"{len(self.pairs)} training pairs, {len(self.corpus.validation)} held-out articles; step {self.state['step']}/{self.total_steps}")

    def export(self, out: Path, mix: float = 1.0) -> dict:
        """The run's encoder as the product's (qa/models/encoder), with its history."""
        from qa.training.export import export_encoder

        s = self.state
        history = {"checkpoint": str(self.folder), "step": s["step"], "planned_steps": self.total_steps, "questions_seen": s["questions_seen"],
                   "wall_seconds": s["wall_seconds"], "init_from": self.config.init_from, "validation": s["val_curve"], "recipe": {
                       k: v for k, v in asdict(self.config).items() if k in ("batch", "negatives", "lr", "warmup", "epochs", "max_length", "seed")}}
        return export_encoder(self.folder, out, history, mix)

    def encode(self, texts: list[str]):
        return mean_pooled(self.tokenizer, self.model, texts, self.config.max_length)

    def step(self, batch: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]) -> float:
        import torch

        from qa.training.loop import cpu_bf16

        passages, targets, masked = contrastive_targets(batch)
        lr = self.config.lr * min(1.0, (self.state["step"] + 1) / self.config.warmup) * max(0.0, 1 - self.state["step"] / self.total_steps)
        for group in self.opt.param_groups:
            group["lr"] = lr
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=cpu_bf16()):
            scores = SCALE * self.encode([q for q, _, _, _ in batch]).float() @ self.encode(passages).float().T
        scores = scores.masked_fill(torch.tensor(masked), -1e4)
        loss = torch.nn.functional.cross_entropy(scores, torch.tensor(targets))
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in self.named], 1.0)
        self.opt.step()
        return float(loss.detach())

    def validate(self) -> dict:
        """Dense recall@1/5/20 and MRR@20 of the validation questions against all sentences of
        the validation articles."""
        c = self.corpus
        rows = [(a, s) for a in sorted(c.validation) for s in range(len(c.sentences[a]))]
        qs = [q for q in c.questions if q.article in c.validation]
        random.Random(self.config.seed).shuffle(qs)
        qs = qs[: self.config.validation_questions]
        where = {r: i for i, r in enumerate(rows)}
        summary = dense_recall(self.tokenizer, self.model, [c.sentences[a][s].text for a, s in rows],
                               [q.question for q in qs], [{where[(q.article, q.gold)]} for q in qs], self.config.max_length)
        return {"step": self.state["step"], "questions_seen": self.state["questions_seen"], **summary}

    def run(self, minutes: float = 0.0) -> bool:
        """Trains until the plan ends, `minutes` pass or a signal comes; saves; True when done."""
        stop = {"now": False}

        def on_signal(signum, frame):
            stop["now"] = True

        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, on_signal)
        if not self.state["val_curve"]:
            self.state["val_curve"].append(self.validate())
            self.log(f"validation at step 0: {self.state['val_curve'][-1]}")
        started = last_save = time.time()
        session = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "from_step": self.state["step"], "steps": 0}
        self.state["sessions"].append(session)
        window: list[float] = []
        while self.state["step"] < self.total_steps and not stop["now"] and not (minutes and time.time() - started > minutes * 60):
            pos = self.state["position"] % len(self.pairs)
            batch = self.pairs[pos : pos + self.config.batch]
            window.append(self.step(batch))
            self.state["step"] += 1
            self.state["position"] += len(batch)
            self.state["questions_seen"] += len(batch)
            session["steps"] += 1
            if self.state["step"] % 50 == 0:
                self.state["loss_curve"].append({"step": self.state["step"], "loss": round(sum(window) / len(window), 4)})
                self.log(f"step {self.state['step']}/{self.total_steps} loss {self.state['loss_curve'][-1]['loss']}")
                window = []
            if self.state["step"] % self.config.validate_every == 0:
                self.state["val_curve"].append(self.validate())
                self.log(f"validation: {self.state['val_curve'][-1]}")
            if time.time() - last_save > SAVE_EVERY_S:
                self._save(started, session)
                started, last_save = time.time(), time.time()
        done = self.state["step"] >= self.total_steps
        if done and self.state["val_curve"][-1]["step"] != self.state["step"]:  # the end of the plan has its row
            self.state["val_curve"].append(self.validate())
            self.log(f"validation at the end: {self.state['val_curve'][-1]}")
        self._save(started, session)
        return done

    def _save(self, started: float, session: dict) -> None:
        spent = time.time() - started
        self.state["wall_seconds"] = round(self.state["wall_seconds"] + spent, 1)
        session["seconds"] = round(session.get("seconds", 0.0) + spent, 1)
        checkpoint.save(self.folder, self.named, self.opt, self.state)


def encoder(folder: Path | None = None):
    """(tokenizer, model) of the shipped MiniLM, with a run's trained weights when `folder`
    holds a checkpoint."""
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging as hf_logging

    from qa.embed import model_path, verify_weights

    path = model_path()
    verify_weights(path)
    hf_logging.set_verbosity_error()
    tokenizer, model = AutoTokenizer.from_pretrained(path), BertModel.from_pretrained(path, add_pooling_layer=False)
    if folder is not None:
        checkpoint.load_weights(folder, [(n, p) for n, p in model.named_parameters() if n != "embeddings.word_embeddings.weight"])
    return tokenizer, model


class TrainedEmbedder:
    """The Embedder protocol (qa.embed) over the torch encoder of a checkpoint (or the shipped
    weights): for mining a second round's negatives and for studies; the product embeds with
    onnxruntime."""

    dim = 384

    def __init__(self, folder: Path | None) -> None:
        import hashlib

        self.tokenizer, self.model = encoder(folder)
        self.model.eval()
        self.name = "all-MiniLM-L6-v2" + (f" + {folder}" if folder else "")
        weights = (folder / "weights.pt").read_bytes() if folder else b"shipped"
        self._fingerprint = "torch-" + hashlib.sha256(weights).hexdigest()

    def fingerprint(self) -> str:
        return self._fingerprint

    def encode(self, texts: list[str], show_progress: bool = False):
        import numpy as np
        import torch

        with torch.no_grad():
            out = [mean_pooled(self.tokenizer, self.model, texts[i : i + 64], 256).numpy() for i in range(0, len(texts), 64)]

        return np.vstack(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)


def mean_pooled(tokenizer, model, texts: list[str], max_length: int):
    """L2-normalised mean of the last hidden states over the attention mask, as the product
    embeds (qa/minilm_onnx.py); gradients flow unless the caller turns them off."""
    import torch

    enc = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1.0), dim=-1)


def dense_recall(tokenizer, model, sentences: list[str], questions: list[str], gold: list[set[int]], max_length: int = 64) -> dict:
    """Recall@1/5/20 and MRR@20 of `questions` against `sentences` by cosine of mean-pooled
    embeddings (as the product embeds); gold[i]: the rows that answer question i."""
    import torch

    def embed(texts: list[str]):
        return torch.cat([mean_pooled(tokenizer, model, texts[i : i + 128], max_length) for i in range(0, len(texts), 128)])

    if not questions or not sentences:
        return {"questions": 0}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        top = torch.topk(embed(questions) @ embed(sentences).T, min(20, len(sentences)), dim=1).indices.tolist()
    model.train(was_training)
    ranks = [next((r + 1 for r, j in enumerate(row) if j in g), None) for row, g in zip(top, gold)]
    n = len(ranks)
    return {"questions": n, **{f"recall@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 4) for k in (1, 5, 20)},
            "mrr@20": round(sum(1 / r for r in ranks if r) / n, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.training.first_stage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --checkpoint")
    parser.add_argument("--minutes", type=float, default=0.0, help="stop (and save) after M minutes (default: no limit)")
    parser.add_argument("--questions", type=int, default=0, help="train on the first N pairs only (smoke runs)")
    parser.add_argument("--checkpoint", default=StageConfig.checkpoint, help="the run's checkpoint folder")
    parser.add_argument("--data", default=StageConfig.data, help="folder with paragraphs.jsonl and questions.jsonl")
    parser.add_argument("--mined-from", default=StageConfig.mined_from, help="checkpoint folder whose mined negatives to reuse ('' to mine afresh)")
    parser.add_argument("--init-from", default="", metavar="DIR", help="start a new run from this checkpoint's encoder (a second round)")
    parser.add_argument("--export-only", action="store_true", help="make the checkpoint's encoder the product's (--out), without training")
    parser.add_argument("--out", type=Path, default=ENCODER_OUT, metavar="DIR", help=f"where --export-only writes (default: {ENCODER_OUT})")
    parser.add_argument("--mix", type=float, default=MIX, metavar="A",
                        help=f"--export-only writes packaged + A x (trained - packaged) (default {MIX}: docs/reranker.md says why)")
    args = parser.parse_args(argv)
    if args.minutes < 0 or args.questions < 0:
        print("error: --minutes and --questions must be 0 or more", file=sys.stderr)
        return 2
    if not 0 < args.mix <= 1:
        print("error: --mix must be above 0 and at most 1", file=sys.stderr)
        return 2
    try:
        config = StageConfig(data=args.data, checkpoint=args.checkpoint, mined_from=args.mined_from, questions=args.questions, init_from=args.init_from)
        trainer = StageTrainer(config, args.resume or args.export_only)
        if args.export_only:
            card = trainer.export(args.out, args.mix)
            print(f"exported step {trainer.state['step']}/{trainer.total_steps} of {config.checkpoint} (mix {args.mix}) to {args.out} (sha256 {card['sha256'][:12]}…); "
                  "`qa build` rebuilds indexes with it")
            return 0
        done = trainer.run(args.minutes)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{'finished' if done else 'stopped'} at step {trainer.state['step']}/{trainer.total_steps}; checkpoint in {config.checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
