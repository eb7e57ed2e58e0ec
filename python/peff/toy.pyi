# Hand-written type stub of peff.toy (checked against the module by `python -m mypy.stubtest peff`).
from typing import Literal, final, overload

import numpy as np
import numpy.typing as npt

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

_F64 = npt.NDArray[np.float64]
_Bool = npt.NDArray[np.bool_]
_Task = Literal["regression", "classification"]

@final
class Datasets:
    """The toy task's datasets (every multiset, or drawn ones) and the model they train."""

    @property
    def x(self) -> _F64:
        """Inputs ``(N, n, d)`` in ``{±1}``."""
    @property
    def y(self) -> _F64:
        """Targets ``(N, n, o)``: the label on every output (regression), one-hot (classification)."""
    @property
    def probabilities(self) -> _F64:
        """``(N,)``: exact multinomial probabilities (enumerated) or ``1/N`` (drawn)."""
    @property
    def points(self) -> npt.NDArray[np.uint32]:
        """``(N, n)`` sorted point ids."""
    @property
    def task(self) -> _Task: ...
    @property
    def n(self) -> int: ...
    @property
    def input_dim(self) -> int: ...
    @property
    def hidden(self) -> int: ...
    @property
    def outputs(self) -> int: ...
    @property
    def num_params(self) -> int: ...
    @property
    def sampled(self) -> bool: ...
    def __len__(self) -> int: ...

@final
class Information:
    """Mask information in bits: ``bits = h_bits − h_cond_bits``; a value."""

    def __new__(
        cls, bits: float, h_bits: float, h_cond_bits: float, h_cond_plugin_bits: float, distinct: int
    ) -> Information: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[type[Information], tuple[float, float, float, float, int]]: ...
    @property
    def bits(self) -> float: ...
    @property
    def h_bits(self) -> float: ...
    @property
    def h_cond_bits(self) -> float: ...
    @property
    def h_cond_plugin_bits(self) -> float: ...
    @property
    def distinct(self) -> int: ...

def datasets(
    task: _Task = "regression",
    n: int = 6,
    input_dim: int | None = None,
    hidden: int | None = None,
    max_datasets: int = 10000000,
) -> Datasets:
    """Every multiset dataset of the toy task, with its exact probability."""

def sample_datasets(
    task: _Task = "regression",
    n: int = 6,
    input_dim: int | None = None,
    hidden: int | None = None,
    count: int = 32000,
    seed: int = 0,
) -> Datasets:
    """``count`` datasets drawn as ``peff sample`` draws them, probability ``1/count`` each."""

def init(
    task: _Task = "regression",
    init_seed: int = 0,
    input_dim: int | None = None,
    hidden: int | None = None,
) -> _F64:
    """``θ0`` ``(p,)`` of ``--init-seed``; index order ``W1`` (row-major), ``b1``, ``W2``, ``b2``."""

def train(
    theta: _F64,
    datasets: Datasets,
    masks: _Bool | None = None,
    steps: int = 2000,
    lr: float = 0.1,
) -> _F64:
    """Trained parameters ``(N, p)`` from ``theta ⊙ masks``, bit for bit ``peff exact``'s; NaN rows diverged."""

def gradient(theta: _F64, datasets: Datasets, temperature: float = 1.0) -> _F64:
    """``∇L(θ)`` on each dataset, ``(N, p)``."""

def hvp(theta: _F64, v: _F64, datasets: Datasets, temperature: float = 1.0) -> _F64:
    """``∇²L(θ) v`` on each dataset, ``(N, p)``."""

def synflow_gradient(
    theta: _F64,
    task: _Task = "regression",
    input_dim: int | None = None,
    hidden: int | None = None,
) -> _F64:
    """SynFlow's gradient ``∂/∂θ Σ_o f_o(1)`` at ``theta``, ``(p,)``."""

@overload
def top_k(scores: _F64, k: int, return_ties: Literal[False] = False) -> _Bool: ...
@overload
def top_k(scores: _F64, k: int, return_ties: Literal[True]) -> tuple[_Bool, _Bool]: ...
@overload
def top_k(scores: _F64, k: int, return_ties: bool) -> _Bool | tuple[_Bool, _Bool]: ...
def information(masks: _Bool, probabilities: _F64) -> Information:
    """``bits``: exact ``H(m | init)`` for ``(N, p)`` masks, ``I(m; D | init)`` for ``(N, S, p)``."""
