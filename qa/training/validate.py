"""The learning curve's points: measured on SQuAD-train articles that training never sees.

For a fixed sample of held-out questions, per exit:
- recall@1 over the first stage's best 6 (the candidates the product reranks), and the
  ceiling (gold among those 6);
- answerability ROC-AUC: the answer probability of the gold sentence for the question,
  against the same sentence for the question's perturbed twin (qa.training.perturb);
- span exact match and F1 of the short answer read from the gold sentence.
"""

from __future__ import annotations

import random

import numpy as np

from qa.metrics import exact_match, f1, roc_auc
from qa.rerank import best_span

DEPTH = 6


def validate(trainer, n: int) -> dict:
    import torch

    from qa.training.items import PERTURBED

    corpus, mined, maker = trainer.corpus, trainer.mined, trainer.maker
    held = [i for i, q in enumerate(corpus.questions) if q.article in corpus.validation]
    random.Random(trainer.config.seed).shuffle(held)
    held = held[:n]
    pairs: list[tuple[str, str]] = []
    rank_rows, gold_rows, twin_rows = [], [], []
    for i in held:
        q = corpus.questions[i]
        cands = [tuple(h) for h in mined.get(q.qid, [])[:DEPTH]]
        rank_rows.append((len(pairs), len(cands), cands.index((q.article, q.gold)) if (q.article, q.gold) in cands else None))
        pairs += [(q.question, maker._text(*c)) for c in cands]
        gold_text = maker._text(q.article, q.gold)
        gold_rows.append((len(pairs), i))
        pairs.append((q.question, gold_text))
        twin = maker.make(i, PERTURBED)
        if twin is not None:
            twin_rows.append(len(pairs))
            pairs.append((twin.question, gold_text))
    outputs: dict[int, list[list]] = {}
    spans: list = []
    with torch.no_grad():
        for b in range(0, len(pairs), 64):
            chunk = pairs[b : b + 64]
            enc = trainer._encode_pairs(chunk)
            out = trainer._forward(enc)
            for e, (rank, answer, start, end) in out.items():
                o = outputs.setdefault(e, [[], [], []])
                o[0].extend(rank.cpu().numpy().tolist())
                o[1].extend(answer.cpu().numpy().tolist())
                o[2].extend(zip(start.cpu().numpy(), end.cpu().numpy()))
            spans.extend((enc, r) for r in range(len(chunk)))
    point: dict = {}
    ceiling = np.mean([g is not None for _, _, g in rank_rows]) if rank_rows else 0.0
    point["ceiling"] = round(float(ceiling), 4)
    for e, (rank, answer, start_end) in outputs.items():
        rank, answer = np.array(rank), np.array(answer)
        hits = [g is not None and int(np.argmax(rank[a : a + k])) == g for a, k, g in rank_rows if k]
        point[f"recall@1_e{e}"] = round(float(np.mean(hits)) if hits else 0.0, 4)
        pos = [answer[r] for r, _ in gold_rows]
        neg = [answer[r] for r in twin_rows]
        point[f"answer_auc_e{e}"] = round(roc_auc(pos, neg), 4)
        ems, f1s = [], []
        for r, i in gold_rows:
            enc, row = spans[r]
            s, t = start_end[r]
            a, b, _ = best_span(s[: len(enc["input_ids"][row])], t[: len(enc["input_ids"][row])])
            offsets = enc["offset_mapping"][row]
            text = pairs[r][1][int(offsets[a][0]) : int(offsets[b][1])]
            answers = corpus.questions[i].answers
            ems.append(exact_match(text, answers))
            f1s.append(f1(text, answers))
        point[f"span_em_e{e}"] = round(float(np.mean(ems)), 4)
        point[f"span_f1_e{e}"] = round(float(np.mean(f1s)), 4)
    point["questions"] = len(held)
    return point
