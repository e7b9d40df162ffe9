"""Training the reader: the cross-encoder that reranks, judges and points at the answer.

One model, three heads on the same forward pass over "[CLS] question [SEP] title: sentence
[SEP]" (qa/training/model.py):
- rank: how well the sentence answers, relative to the other candidates (listwise loss);
- answer: the probability that this sentence answers the question at all (pointwise);
- span: where the short answer starts and ends inside the sentence.

The modules, in the order a run uses them:
- `squad`: SQuAD v1.1 train as articles split by qa's own splitter, and hard negatives
  mined once by the product's own first stage (cached beside the checkpoint);
- `perturb`: on-topic unanswerable questions, made by swapping the question's key entity,
  number or date for another of the same kind from the same article;
- `items`: one training group per question, deterministic for its id;
- `model`: the network, initialised from the MiniLM weights we ship;
- `loop`: the resumable training loop and its checkpoint (`qa train --resume`);
- `export`: int8 ONNX for onnxruntime, written atomically with its card.

Design and measurements: docs/reranker.md.
"""
