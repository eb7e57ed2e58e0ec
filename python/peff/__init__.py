"""peff: how much information a pruning mask carries about its training data, in bits.

The Python face of the peff Rust library (paper: Kumar, Luo & Sellke, "No Free Prune",
ICML 2024). Every entropy is in bits; keyword arguments are named like the ``peff`` command
line's flags (``-`` becomes ``_``), and invalid input raises ``ValueError`` with the command
line's one-line message (or one naming the argument: a bool for a number, an integer out of
range, a masked array, a set where order matters). Long calls run without the GIL and stop on
Ctrl-C (``KeyboardInterrupt``).

- ``entropy(counts, alphabet=None, resamples=1000, seed=0, confidence=0.95)``: the eight
  entropy estimators, each an ``Estimate`` (``bits``, ``ci_low``, ``ci_high``, ``sd``; a value:
  it compares, hashes, pickles and copies).
- ``mask_counts(masks)``: counts of distinct masks in an ``(N, p)`` bool/uint8 array or in a
  sequence of ``{name: array}`` dicts (flattened in sorted key order).
- ``exact(**config)``, ``sample(**config)``: the toy tables of ``peff exact``/``peff sample``.
- ``bound(...)``: Theorem 5.6; ``ceiling_bits(p, k)``: ``log2 C(p, k)``.
- ``noise_correlation(f_train, f_mu_mean, z)``: the Figure 1(d-f) proxy.
- ``toy``: the toy experiment's primitives (datasets, init, the lockstep trainer, gradients,
  the top-k rule, exact mask information), to measure your own pruning criterion exactly.

>>> import numpy as np, peff
>>> masks = np.array([[1, 0, 1, 0], [1, 0, 1, 0], [0, 1, 1, 0]], dtype=bool)
>>> est = peff.entropy(peff.mask_counts(masks), alphabet=2 ** 4)
>>> round(est["plugin"].bits, 4)
0.9183
"""

from ._peff import (
    Estimate,
    bound,
    ceiling_bits,
    entropy,
    exact,
    mask_counts,
    noise_correlation,
    sample,
)
from . import toy

__all__ = [
    "Estimate",
    "bound",
    "ceiling_bits",
    "entropy",
    "exact",
    "mask_counts",
    "noise_correlation",
    "sample",
    "toy",
]
