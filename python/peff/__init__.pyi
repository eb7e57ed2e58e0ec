# Hand-written type stub of peff (checked against the module by `python -m mypy.stubtest peff`).
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any, Union, final

import numpy as np
import numpy.typing as npt

from . import toy as toy

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

_IntList = Union[int, Sequence[int]]
_FloatList = Union[float, Sequence[float]]
_Number = Union[float, int]
_Floats = Union[npt.NDArray[np.floating[Any]], npt.NDArray[np.integer[Any]], Sequence[float]]

@final
class Estimate:
    """One estimator's entropy estimate in bits, with its bootstrap interval."""

    @property
    def bits(self) -> float: ...
    @property
    def ci_low(self) -> float: ...
    @property
    def ci_high(self) -> float: ...
    @property
    def sd(self) -> float | None: ...

def entropy(
    counts: npt.NDArray[np.integer[Any]] | Sequence[int],
    alphabet: float | None = None,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Estimate]: ...
def mask_counts(
    masks: npt.NDArray[np.bool_] | npt.NDArray[np.uint8] | Sequence[Mapping[str, npt.NDArray[np.bool_] | npt.NDArray[np.uint8]]],
) -> npt.NDArray[np.uint64]: ...
def exact(
    *,
    task: str | None = ...,
    n: int | None = ...,
    input_dim: int | None = ...,
    hidden: int | None = ...,
    steps: int | None = ...,
    lr: float | None = ...,
    imp_rate: float | None = ...,
    grasp_temperature: float | None = ...,
    synflow_rounds: int | None = ...,
    methods: str | Sequence[str] | None = ...,
    k: _IntList | None = ...,
    sparsity: _FloatList | None = ...,
    init_seed: int | None = ...,
    init: str | PathLike[str] | None = ...,
    inits: int | None = ...,
    random_seed: int | None = ...,
    threads: int | None = ...,
    max_datasets: int | None = ...,
) -> list[dict[str, Any]]: ...
def sample(
    *,
    task: str | None = ...,
    n: int | None = ...,
    input_dim: int | None = ...,
    hidden: int | None = ...,
    steps: int | None = ...,
    lr: float | None = ...,
    imp_rate: float | None = ...,
    grasp_temperature: float | None = ...,
    synflow_rounds: int | None = ...,
    methods: str | Sequence[str] | None = ...,
    k: _IntList | None = ...,
    sparsity: _FloatList | None = ...,
    init_seed: int | None = ...,
    init: str | PathLike[str] | None = ...,
    random_seed: int | None = ...,
    threads: int | None = ...,
    samples: int | None = ...,
    seed: int | None = ...,
) -> list[dict[str, Any]]: ...
def bound(
    *,
    n: _Number,
    d: _Number,
    epsilon: float,
    delta: float,
    w: _Number,
    j: _Number,
    mi: _Number,
    k: _Number,
    c: _Number = 1.0,
) -> dict[str, float]: ...
def ceiling_bits(p: int, k: int) -> float: ...
def noise_correlation(f_train: _Floats, f_mu_mean: float, z: _Floats) -> float: ...
