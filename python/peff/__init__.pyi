# Hand-written type stub of peff (checked against the module by `python -m mypy.stubtest peff`).
from collections.abc import Sequence
from os import PathLike
from typing import Any, Literal, Union, final

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

# What the keyword arguments of `exact`/`sample` take: a value, or for a list flag a list or
# tuple of values (not any sequence: a range, an array or a set is refused).
_Task = Literal["regression", "classification"]
_IntList = Union[int, list[int], tuple[int, ...]]
_FloatList = Union[float, list[float], tuple[float, ...]]
_Names = Union[str, list[str], tuple[str, ...]]
_Floats = Union[npt.NDArray[np.floating[Any]], npt.NDArray[np.integer[Any]], Sequence[float]]
_MaskArray = Union[npt.NDArray[np.bool_], npt.NDArray[np.uint8]]

@final
class Estimate:
    """One estimator's entropy estimate in bits, with its bootstrap interval; a value."""

    def __new__(cls, bits: float, ci_low: float, ci_high: float, sd: float | None = None) -> Estimate: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[type[Estimate], tuple[float, float, float, float | None]]: ...
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
def mask_counts(masks: _MaskArray | Sequence[dict[str, _MaskArray]]) -> npt.NDArray[np.uint64]: ...
def exact(
    *,
    task: _Task | None = ...,
    n: int | None = ...,
    input_dim: int | None = ...,
    hidden: int | None = ...,
    steps: int | None = ...,
    lr: float | None = ...,
    imp_rate: float | None = ...,
    grasp_temperature: float | None = ...,
    synflow_rounds: int | None = ...,
    methods: _Names | None = ...,
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
    task: _Task | None = ...,
    n: int | None = ...,
    input_dim: int | None = ...,
    hidden: int | None = ...,
    steps: int | None = ...,
    lr: float | None = ...,
    imp_rate: float | None = ...,
    grasp_temperature: float | None = ...,
    synflow_rounds: int | None = ...,
    methods: _Names | None = ...,
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
    n: float,
    d: float,
    epsilon: float,
    delta: float,
    w: float,
    j: float,
    mi: float,
    k: float,
    c: float = 1.0,
) -> dict[str, float]: ...
def ceiling_bits(p: int, k: int) -> float: ...
def noise_correlation(f_train: _Floats, f_mu_mean: float, z: _Floats) -> float: ...
