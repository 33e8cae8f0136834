#!/usr/bin/python3
"""Writes agreement_golden.json: random rating sets and their agreement
statistics computed with independent reference implementations, for
tests/unit/label/agreement_test.cc.

- Cohen's kappa per annotator pair: sklearn.metrics.cohen_kappa_score on the
  items both annotators rated (NaN, when undefined, is written as null).
- Fleiss' kappa: statsmodels.stats.inter_rater.fleiss_kappa where every item
  has the same number of ratings; where the number varies (statsmodels
  requires it constant), the per-item formula with numpy: P_i = (sum_j n_ij^2
  - n_i) / (n_i (n_i - 1)), P_bar = mean P_i, p_j = share of all ratings in
  category j, P_e = sum p_j^2, kappa = (P_bar - P_e) / (1 - P_e). Both are
  computed and compared where both apply.
- Percent agreement: per item, agreeing pairs of raters over all pairs,
  counted pair by pair, averaged over items with 2+ ratings.

Deterministic (fixed seeds), so rerunning it rewrites the same file. Needs
Debian's python3-numpy, python3-sklearn and python3-statsmodels:

    /usr/bin/python3 tests/data/label/make_agreement_golden.py
"""
import itertools
import json
import math
import os
import warnings

import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agreement_golden.json")


def noisy_ratings(rng, num_items, raters, num_categories, accuracy, raters_per_item=None, skew=None):
    """Items with a hidden true category; each rater reports it with
    probability `accuracy`, else a uniformly random category."""
    items = []
    for _ in range(num_items):
        truth = int(rng.choice(num_categories, p=skew))
        who = raters
        if raters_per_item is not None:
            k = int(rng.integers(raters_per_item[0], raters_per_item[1] + 1))
            who = sorted(rng.choice(raters, size=k, replace=False).tolist())
        row = []
        for r in who:
            c = truth if rng.random() < accuracy else int(rng.integers(num_categories))
            row.append([r, c])
        items.append(row)
    return items


def percent_agreement(items):
    shares = []
    for row in items:
        if len(row) < 2:
            continue
        pairs = list(itertools.combinations([c for _, c in row], 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return (sum(shares) / len(shares)) if shares else None


def fleiss_numpy(table):
    n_i = table.sum(axis=1)
    p_i = ((table**2).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_bar = p_i.mean()
    p_j = table.sum(axis=0) / table.sum()
    p_e = (p_j**2).sum()
    return None if p_e == 1 else float((p_bar - p_e) / (1 - p_e))


def fleiss(items, num_categories):
    rated = [row for row in items if len(row) >= 2]
    if not any(len(row) >= 3 for row in rated):
        return None
    table = np.zeros((len(rated), num_categories))
    for i, row in enumerate(rated):
        for _, c in row:
            table[i, c] += 1
    own = fleiss_numpy(table)
    if len(set(table.sum(axis=1))) == 1:
        ref = float(fleiss_kappa(table, method="fleiss"))
        assert own is not None and math.isclose(ref, own, rel_tol=0, abs_tol=1e-12), (ref, own)
        return ref
    return own


def pairs(items, num_categories):
    votes = {}
    for i, row in enumerate(items):
        if len(row) < 2:
            continue
        for r, c in row:
            votes.setdefault(r, {})[i] = c
    out = []
    for a, b in itertools.combinations(sorted(votes), 2):
        shared = sorted(set(votes[a]) & set(votes[b]))
        if not shared:
            continue
        la = [votes[a][i] for i in shared]
        lb = [votes[b][i] for i in shared]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NaN kappa warns
            k = float(cohen_kappa_score(la, lb, labels=list(range(num_categories))))
        out.append({
            "a": a,
            "b": b,
            "items": len(shared),
            "percent_agreement": sum(x == y for x, y in zip(la, lb)) / len(shared),
            "cohen_kappa": None if math.isnan(k) else k,
        })
    return out


def case(name, items, num_categories):
    rated = [row for row in items if len(row) >= 2]
    return {
        "name": name,
        "num_categories": num_categories,
        "items": items,
        "expected": {
            "items": len(rated),
            "percent_agreement": percent_agreement(items),
            "fleiss_kappa": fleiss(items, num_categories),
            "pairs": pairs(items, num_categories),
        },
    }


def dumps(cases):
    """JSON with one item, and one pair, per line."""
    def rows(values, indent):
        pad = " " * indent
        return "[\n" + ",\n".join(pad + json.dumps(v) for v in values) + "\n" + pad[:-1] + "]"

    out = []
    for c in cases:
        e = c["expected"]
        head = {k: e[k] for k in ("items", "percent_agreement", "fleiss_kappa")}
        out.append('  {"name": %s, "num_categories": %d,\n   "items": %s,\n   "expected": %s, "pairs": %s}}' %
                   (json.dumps(c["name"]), c["num_categories"], rows(c["items"], 4), json.dumps(head)[:-1],
                    rows(e["pairs"], 4)))
    return '{"generator": "tests/data/label/make_agreement_golden.py",\n "cases": [\n' + ",\n".join(out) + "\n ]}\n"


def main():
    cases = []
    rng = np.random.default_rng(1971)
    cases.append(case("two_raters_four_categories",
                      noisy_ratings(rng, 40, ["ann", "bob"], 4, accuracy=0.6), 4))
    rng = np.random.default_rng(1960)
    cases.append(case("five_raters_every_item",
                      noisy_ratings(rng, 30, ["r1", "r2", "r3", "r4", "r5"], 3, accuracy=0.5), 3))
    rng = np.random.default_rng(2024)
    cases.append(case("one_to_five_of_six_raters",
                      noisy_ratings(rng, 60, ["ann", "bob", "cy", "dee", "eve", "fay"], 5, accuracy=0.55,
                                    raters_per_item=(1, 5)), 5))
    rng = np.random.default_rng(7)
    cases.append(case("skewed_binary_two_to_four_raters",
                      noisy_ratings(rng, 25, ["p", "q", "r", "s"], 2, accuracy=0.8, raters_per_item=(2, 4),
                                    skew=[0.9, 0.1]), 2))
    with open(OUT, "w") as f:
        f.write(dumps(cases))


if __name__ == "__main__":
    main()
