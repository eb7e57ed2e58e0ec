"""peff's six built-in pruning methods rebuilt in NumPy on ``peff.toy``'s primitives.

Each method is a few lines of NumPy around the primitives (datasets, init, train, gradient,
hvp, synflow_gradient, top_k, information), and the table this script prints is ``peff
exact``'s for the same settings: the same masks, so the same entropies to 1e-12 bits (the test
``python/tests/test_toy.py`` checks it). It shows that the primitives are enough to measure any
criterion exactly, the built-in ones included:

    random     m ~ Uniform{|m| = k}: H(m | init) = log2 C(p, k) in closed form, I(m; D) = 0
    synflow    E rounds of score = θ̃ ⊙ ∂(Σ f(1))/∂θ̃, θ̃ = m ⊙ |θ0|, data-free
    magnitude  score = |θ_T| after dense training
    imp        iterative magnitude pruning, rate r per level, rewinding to θ0
    snip       score = |θ0 ⊙ ∇L(θ0)|
    grasp      score = θ0 ⊙ H ∇L_T(θ0) (temperature T_g: 200 for classification, 1 for regression)

Run ``python builtin_methods.py --task regression`` for the default table (``results/exact-
regression.csv``'s numbers); ``--help`` for the settings.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time

import numpy as np

import peff
import peff.toy as toy

METHODS = ["random", "synflow", "magnitude", "imp", "snip", "grasp"]
COLUMNS = [
    "task",
    "method",
    "k",
    "sparsity",
    "entropy_bits",
    "mi_bits",
    "ceiling_bits",
    "p_eff",
    "distinct_masks",
    "diverged",
    "tie_mass",
]


def exact_row(task, method, k, p, masks, ties, alive, probabilities):
    """One row of ``peff exact``'s table from a deterministic method's masks.

    ``masks`` ``(N, p)`` and ``ties`` ``(N,)`` come from ``toy.top_k``; ``alive`` ``(N,)`` is
    False for the datasets whose run diverged (or whose scores were not finite): as in ``peff
    exact``, they are counted in ``diverged`` and left out of the pmf.
    """
    diverged = int((~alive).sum())
    entropy = distinct = None
    if alive.any():
        kept = probabilities[alive]
        if diverged:
            kept = kept / kept.sum()
        info = toy.information(masks[alive], kept)
        entropy, distinct = info.bits, info.distinct
    return {
        "task": task,
        "method": method,
        "k": k,
        "sparsity": 1.0 - k / p,
        "entropy_bits": entropy,
        "mi_bits": entropy,
        "ceiling_bits": peff.ceiling_bits(p, k),
        "p_eff": None if entropy is None else entropy + k,
        "distinct_masks": distinct or 0,
        "diverged": diverged,
        "tie_mass": float(probabilities[alive & ties].sum()),
    }


def one_shot(task, method, ks, p, scores, alive, probabilities):
    """Rows of a one-shot method: keep the top ``k`` of ``scores`` ``(N, p)`` for each ``k``."""
    alive = alive & np.isfinite(scores).all(axis=1)
    scores = np.where(alive[:, None], scores, 0.0)  # rows left out of the pmf
    rows = []
    for k in ks:
        masks, ties = toy.top_k(scores, k, return_ties=True)
        rows.append(exact_row(task, method, k, p, masks, ties, alive, probabilities))
    return rows


def random_rows(task, ks, p):
    """Random pruning: ``H(m | init) = log2 C(p, k)`` exactly, and no information about D."""
    return [
        {
            "task": task,
            "method": "random",
            "k": k,
            "sparsity": 1.0 - k / p,
            "entropy_bits": peff.ceiling_bits(p, k),
            "mi_bits": 0.0,
            "ceiling_bits": peff.ceiling_bits(p, k),
            "p_eff": float(k),
            "distinct_masks": math.comb(p, k),
            "diverged": 0,
            "tie_mass": 0.0,
        }
        for k in ks
    ]


def synflow_mask(theta0, k, rounds, shape):
    """SynFlow's mask and its last round's tie: ``rounds`` rounds to density ``(k/p)^(e/E)``."""
    p = theta0.size
    mask = np.ones(p, dtype=bool)
    tie = False
    for e in range(1, rounds + 1):
        d_e = (k / p) ** (e / rounds)
        keep = k if e == rounds else p - math.floor((1.0 - d_e) * p + 1e-9)
        if keep >= mask.sum():
            tie = False  # every remaining parameter is kept
            continue
        linear = np.where(mask, np.abs(theta0), 0.0)
        scores = linear * toy.synflow_gradient(linear, **shape)
        # A pruned parameter never returns: it ranks below every kept one (scores ≥ 0).
        masks, ties = toy.top_k(np.where(mask, scores, -1.0), keep, return_ties=True)
        mask, tie = masks, bool(ties)
    return mask, tie


def imp_schedule(p, target, rate):
    """The kept counts IMP visits from ``p`` down to ``target``: ``⌈r·R⌉`` (≥ 1) fewer each level."""
    kept, visited = p, []
    while kept > target:
        pruned = max(math.ceil(rate * kept - 1e-9), 1)
        kept = max(kept - pruned, target)
        visited.append(kept)
    return visited


def table(
    task="regression",
    n=6,
    steps=2000,
    lr=0.1,
    init_seed=0,
    k=None,
    methods=METHODS,
    imp_rate=0.2,
    synflow_rounds=100,
    grasp_temperature=None,
):
    """``peff exact``'s table for these settings (its flags, same defaults), rebuilt in NumPy."""
    ds = toy.datasets(task=task, n=n)
    theta0 = toy.init(task=task, init_seed=init_seed)
    p = theta0.size
    ks = list(k) if k is not None else list(range(p - 1, 0, -1))
    probs = ds.probabilities
    everyone = np.ones(len(ds), dtype=bool)
    shape = {"task": task}
    dense = None

    def dense_run():
        nonlocal dense
        if dense is None:
            dense = toy.train(theta0, ds, steps=steps, lr=lr)
        return dense

    rows = []
    for method in methods:
        if method == "random":
            rows += random_rows(task, ks, p)
        elif method == "synflow":
            for kk in ks:
                mask, tie = synflow_mask(theta0, kk, synflow_rounds, shape)
                masks = np.broadcast_to(mask, (len(ds), p))
                ties = np.full(len(ds), tie)
                rows.append(exact_row(task, "synflow", kk, p, masks, ties, everyone, probs))
        elif method == "magnitude":
            trained = dense_run()
            alive = np.isfinite(trained).all(axis=1)
            rows += one_shot(task, "magnitude", ks, p, np.abs(trained), alive, probs)
        elif method == "imp":
            trained = dense_run()
            alive = np.isfinite(trained).all(axis=1)
            mask = np.ones((len(ds), p), dtype=bool)
            schedule = imp_schedule(p, min(ks), imp_rate)
            for level, kk in enumerate(schedule):
                # Rank the kept parameters only (pruned ones score −1, below any |θ|).
                scores = np.where(mask & alive[:, None], np.abs(np.nan_to_num(trained)), -1.0)
                cut, ties = toy.top_k(scores, kk, return_ties=True)
                mask = np.where(alive[:, None], cut, mask)
                rows.append(exact_row(task, "imp", kk, p, mask, ties, alive, probs))
                if level + 1 < len(schedule):
                    trained = toy.train(theta0, ds, masks=mask, steps=steps, lr=lr)
                    alive &= np.isfinite(trained).all(axis=1)
        elif method == "snip":
            g = toy.gradient(theta0, ds)
            rows += one_shot(task, "snip", ks, p, np.abs(theta0 * g), everyone, probs)
        elif method == "grasp":
            t = grasp_temperature
            if t is None:
                t = 200.0 if task == "classification" else 1.0
            g = toy.gradient(theta0, ds, temperature=t)
            hg = toy.hvp(theta0, g, ds, temperature=t)
            rows += one_shot(task, "grasp", ks, p, theta0 * hg, everyone, probs)
        else:
            raise ValueError(f"unknown method {method!r}; the built-in ones are {METHODS}")
    return rows


def cell(value):
    """A value as ``peff exact --format csv`` writes it: floats in their shortest round-trip
    digits without an exponent, empty for ``None``."""
    if value is None:
        return ""
    if isinstance(value, float) and "e" in repr(value):
        return np.format_float_positional(value, unique=True, trim="-")
    return value


def write_csv(rows, out):
    """Rows as ``peff exact --format csv`` writes them."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: cell(row[c]) for c in COLUMNS})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="regression", choices=["regression", "classification"])
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--init-seed", type=int, default=0)
    parser.add_argument("--k", type=lambda s: [int(v) for v in s.split(",")], default=None)
    parser.add_argument("--methods", type=lambda s: s.split(","), default=METHODS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = table(args.task, args.n, args.steps, args.lr, args.init_seed, args.k, args.methods)
    write_csv(rows, sys.stdout)
    print(f"{time.perf_counter() - start:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
