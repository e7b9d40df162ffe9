"""qa.metrics against hand-computed cases and an independent implementation (scikit-learn)."""

from __future__ import annotations

import random

import pytest

from qa.metrics import exact_match, f1, mrr, normalize, percentile, recall_at, roc_auc


def test_recall_and_mrr_by_hand():
    ranks = [1, 3, None, 2, 11]
    assert recall_at(ranks, 1) == pytest.approx(1 / 5)
    assert recall_at(ranks, 3) == pytest.approx(3 / 5)
    assert recall_at(ranks, 10) == pytest.approx(3 / 5)  # rank 11 is outside the top 10
    assert mrr(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 2) / 5)
    assert recall_at([], 5) == 0.0 and mrr([]) == 0.0


def test_roc_auc_by_hand_with_ties():
    # pairs (pos, neg): 0.9>0.1, 0.9>0.5, 0.5=0.5 (half), 0.5>0.1 -> 3.5 of 4
    assert roc_auc([0.9, 0.5], [0.1, 0.5]) == pytest.approx(3.5 / 4)
    assert roc_auc([1.0], [2.0]) == 0.0
    assert roc_auc([], [1.0]) == 0.5


def test_roc_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = random.Random(7)
    for _ in range(20):
        pos = [round(rng.gauss(0.5, 1), 1) for _ in range(rng.randint(1, 40))]
        neg = [round(rng.gauss(0.0, 1), 1) for _ in range(rng.randint(1, 40))]  # rounded: many ties
        expected = roc_auc_score([1] * len(pos) + [0] * len(neg), pos + neg)
        assert roc_auc(pos, neg) == pytest.approx(expected)


def test_squad_normalisation_exact_match_and_f1():
    # The official evaluate-v1.1 rules: lower case, no punctuation, no articles, single spaces.
    assert normalize("The Denver Broncos!") == "denver broncos"
    assert normalize("“Went Well”") == "went well"
    assert exact_match("the Denver Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert exact_match("Broncos of Denver", ["Denver Broncos"]) == 0.0
    # "Denver Broncos team" vs "Denver Broncos": precision 2/3, recall 1 -> F1 0.8
    assert f1("Denver Broncos team", ["Denver Broncos"]) == pytest.approx(0.8)
    assert f1("Carolina", ["Denver Broncos", "Broncos"]) == 0.0
    assert f1("Broncos", ["Denver Broncos", "Broncos"]) == 1.0  # the best over the gold answers


def test_percentile_nearest_rank():
    assert percentile([5.0], 95) == 5.0
    assert percentile(list(map(float, range(1, 101))), 50) == 50.0
    assert percentile(list(map(float, range(1, 101))), 95) == 95.0
    assert percentile([], 50) == 0.0
