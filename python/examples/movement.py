"""Movement pruning measured exactly: how much information its masks carry about the data.

Movement pruning (Sanh, Wolf & Rush 2020, "Movement pruning: adaptivity by fine-tuning") keeps
the weights that moved away from zero during training:

    score_i = θ_T,i · (θ_T,i − θ0_i)      keep the k largest (signed)

a criterion the paper did not test. On the toy task of ``peff exact`` its exact table is

    python python/examples/movement.py --out results/exact-byo-movement.csv

(both tasks, every k; the columns of ``peff exact``'s table, to read beside
``results/exact-regression.csv`` and ``results/exact-classification.csv``). The criterion is
three lines of NumPy; ``peff.toy`` does the enumeration, the training and the exact entropy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import peff.toy as toy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from builtin_methods import one_shot, write_csv  # noqa: E402  (the examples' shared rows)


def movement_rows(task="regression", n=6, steps=2000, lr=0.1, init_seed=0, k=None):
    """The exact rows of movement pruning, one per ``k`` (default: every ``k`` in [1, p − 1])."""
    ds = toy.datasets(task=task, n=n)
    theta0 = toy.init(task=task, init_seed=init_seed)
    theta_t = toy.train(theta0, ds, steps=steps, lr=lr)
    scores = theta_t * (theta_t - theta0)
    alive = np.isfinite(theta_t).all(axis=1)
    ks = list(k) if k is not None else list(range(theta0.size - 1, 0, -1))
    return one_shot(task, "movement", ks, theta0.size, scores, alive, ds.probabilities)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", action="append", choices=["regression", "classification"],
                        help="task (repeatable; default both)")
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--init-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="CSV file to write (default: stdout)")
    args = parser.parse_args(argv)
    rows = []
    for task in args.task or ["regression", "classification"]:
        start = time.perf_counter()
        rows += movement_rows(task, args.n, args.steps, args.lr, args.init_seed)
        print(f"{task}: {time.perf_counter() - start:.2f} s", file=sys.stderr)
    if args.out is None:
        write_csv(rows, sys.stdout)
    else:
        with open(args.out, "w", newline="") as out:
            write_csv(rows, out)


if __name__ == "__main__":
    main()
