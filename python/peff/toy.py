"""The toy experiment's primitives, vectorised over every dataset at once.

Measure your own pruning criterion exactly on the toy task of ``peff exact`` (the paper's
Appendix B.2): enumerate the datasets, train one network per dataset with peff's lockstep
trainer, score the parameters in NumPy, keep the top ``k`` with peff's tie rule, and compute the
exact information the masks carry about the data. Every function computes in Rust, without the
GIL, on all cores, and stops on Ctrl-C; bad input raises ``ValueError`` before any work.

- ``datasets(task, n, input_dim, hidden)``: every multiset dataset (``x``, ``y``,
  ``probabilities``); ``sample_datasets(..., count, seed)``: drawn ones.
- ``init(task, init_seed)``: ``θ0`` ``(p,)``, index order ``W1``, ``b1``, ``W2``, ``b2``.
- ``train(theta, datasets, masks=None, steps=2000, lr=0.1)``: trained weights ``(N, p)``, bit
  for bit those of ``peff exact``.
- ``gradient(theta, datasets)``, ``hvp(theta, v, datasets)``: ``(N, p)``;
  ``synflow_gradient(theta)``: ``(p,)``.
- ``top_k(scores, k, return_ties=False)``: ``(N, p)`` bool masks, ties to the lower index.
- ``information(masks, probabilities)``: ``bits`` (exact ``H(m | init)``; ``I(m; D | init)``
  for ``(N, S, p)`` masks) and ``distinct``.

>>> import numpy as np, peff.toy as toy
>>> ds = toy.datasets(n=2)
>>> theta0 = toy.init()
>>> theta_t = toy.train(theta0, ds, steps=200)
>>> masks = toy.top_k(theta_t * (theta_t - theta0), k=10)  # movement pruning
>>> info = toy.information(masks, ds.probabilities)
>>> round(info.bits, 4), info.distinct  # of 136 datasets: at most log2(136) = 7.09 bits
(6.7253, 113)
"""

from ._peff import toy as _native

Datasets = _native.Datasets
Information = _native.Information
datasets = _native.datasets
sample_datasets = _native.sample_datasets
init = _native.init
train = _native.train
gradient = _native.gradient
hvp = _native.hvp
synflow_gradient = _native.synflow_gradient
top_k = _native.top_k
information = _native.information

__all__ = [
    "Datasets",
    "Information",
    "datasets",
    "gradient",
    "hvp",
    "information",
    "init",
    "sample_datasets",
    "synflow_gradient",
    "top_k",
    "train",
]
