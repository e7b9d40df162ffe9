"""The reader network: MiniLM layers with rank, answer and span heads, readable at two depths.

Input: "[CLS] question [SEP] title: sentence [SEP]". Heads, per exit layer:
- rank = scale x cos(mean question tokens, mean sentence tokens) + linear(mean of all tokens).
  MiniLM was trained for mean-pooled cosines, so this starts as the bi-encoder's own
  similarity and ranks sensibly from step 0 (a [CLS] head stayed at chance for hundreds of
  steps: docs/reranker.md);
- answer = a x rank + b + linear(mean of all tokens): a logit whose sigmoid is the
  probability that the sentence answers the question (trained pointwise, so calibrated);
- span = linear(token) -> (start, end) logits over the sentence's tokens.

Exits: the heads read the hidden states after layer 3 and after layer 6 (trained together,
the shallow exit with half the weight), so one run yields both a fast model and an accurate
one and the latency budget picks between them at export (qa.training.export).
"""

from __future__ import annotations

NEG = -1.0e4


def build(layers: int = 6, exits: tuple[int, ...] = (3, 6)):
    """(model folder, tokenizer, Reader) initialised from the shipped MiniLM weights."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    from qa.embed import model_path, verify_weights

    folder = model_path()
    verify_weights(folder)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    exits = tuple(sorted({min(e, layers) for e in exits}))
    config = BertConfig.from_pretrained(folder, num_hidden_layers=layers)

    class Heads(torch.nn.Module):
        def __init__(self, hidden: int) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(20.0))
            self.rank = torch.nn.Linear(hidden, 1)
            self.answer_a = torch.nn.Parameter(torch.tensor(1.0))
            self.answer_b = torch.nn.Parameter(torch.tensor(-12.0))
            self.answer = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)
            for lin in (self.rank, self.answer):
                torch.nn.init.zeros_(lin.weight)
                torch.nn.init.zeros_(lin.bias)

        def forward(self, h, attention_mask, token_type_ids):
            mask = attention_mask.to(h.dtype)
            second = mask * token_type_ids.to(h.dtype)
            first = mask - second

            def mean(m):
                return (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)

            pooled = mean(mask)
            cos = torch.nn.functional.cosine_similarity(mean(first), mean(second), dim=-1)
            rank = self.scale * cos + self.rank(pooled).squeeze(-1)
            answer = self.answer_a * rank + self.answer_b + self.answer(pooled).squeeze(-1)
            # Span logits only over the second segment, never its closing [SEP].
            last = second * torch.nn.functional.pad(second[:, 1:], (0, 1))
            span = self.span(h)
            blocked = (1.0 - last) * NEG
            return rank, answer, span[..., 0] + blocked, span[..., 1] + blocked

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel.from_pretrained(folder, config=config, add_pooling_layer=False)
            self.exits = exits
            self.heads = torch.nn.ModuleDict({str(e): Heads(config.hidden_size) for e in exits})

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, output_hidden_states=True)
            return {e: self.heads[str(e)](out.hidden_states[e], attention_mask, token_type_ids) for e in self.exits}

    tokenizer = AutoTokenizer.from_pretrained(folder)
    return folder, tokenizer, Reader()


class OneExit:
    """Wraps a Reader as a module that runs only the layers one exit needs (for export)."""

    @staticmethod
    def make(reader, exit_layer: int):
        import copy

        import torch

        m = copy.deepcopy(reader).eval()
        m.bert.encoder.layer = m.bert.encoder.layer[:exit_layer]
        m.bert.config.num_hidden_layers = exit_layer
        heads = m.heads[str(exit_layer)]

        class Single(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert, self.head = m.bert, heads

            def forward(self, input_ids, attention_mask, token_type_ids):
                h = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
                return self.head(h, attention_mask, token_type_ids)

        return Single().eval()


def span_targets(enc, row: int, span: tuple[int, int]) -> tuple[int, int] | None:
    """Token positions of the answer characters `span` inside row `row`'s second segment,
    or None when truncation cut the answer off."""
    seq = enc.sequence_ids(row)
    offsets = enc["offset_mapping"][row]
    start = end = None
    for t, (sid, (a, b)) in enumerate(zip(seq, offsets)):
        if sid != 1 or b <= a:
            continue
        if start is None and b > span[0]:
            start = t
        if a < span[1]:
            end = t
    if start is None or end is None or end < start:
        return None
    return int(start), int(end)
