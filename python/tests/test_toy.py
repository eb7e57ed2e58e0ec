"""peff.toy: the primitives against ``peff exact``, their refusals, Ctrl-C and the GIL.

The reference is ``peff exact`` (through ``peff.exact``, whose rows equal the CLI's, checked in
test_peff.py): the six built-in methods rebuilt in NumPy on the primitives
(``python/examples/builtin_methods.py``) must give its table to 1e-12 bits.
"""

import doctest
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import peff
import peff.toy as toy

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import builtin_methods  # noqa: E402
import movement  # noqa: E402

TOL = 1e-12
FLOATS = ["sparsity", "entropy_bits", "mi_bits", "ceiling_bits", "p_eff", "tie_mass"]
EXACT = ["task", "method", "k", "distinct_masks", "diverged"]


def assert_tables_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert {c: a[c] for c in EXACT} == {c: b[c] for c in EXACT}, (a, b)
        for c in FLOATS:
            if b[c] is None:
                assert a[c] is None, (c, a, b)
            else:
                assert abs(a[c] - b[c]) <= TOL, (c, a, b)


# Small settings (hundreds of datasets, a few hundred steps): seconds, and every method's masks
# vary with the data.
SMALL = {
    "regression": {"n": 3, "steps": 150},
    "classification": {"n": 3, "steps": 150, "init_seed": 1},
}


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_builtin_methods_rebuilt_in_numpy_equal_peff_exact(task):
    settings = SMALL[task]
    ours = builtin_methods.table(task=task, **settings)
    theirs = peff.exact(task=task, **settings)
    assert_tables_equal(ours, theirs)
    # The comparison has teeth: data-dependent methods carry information, ties occur.
    assert any(r["mi_bits"] > 1 for r in ours if r["method"] in ("magnitude", "imp"))
    assert {r["method"] for r in ours} == set(builtin_methods.METHODS)


def test_movement_rows_are_a_one_shot_table():
    rows = movement.movement_rows(n=2, steps=100, k=[15, 5])
    assert [r["k"] for r in rows] == [15, 5]
    assert all(r["method"] == "movement" and r["diverged"] == 0 for r in rows)
    assert all(0 < r["mi_bits"] <= math.log2(136) for r in rows)


def test_train_is_the_engine_for_per_dataset_rows_and_masks():
    ds = toy.datasets(n=2)
    theta0 = toy.init()
    p = theta0.size
    rng = np.random.default_rng(0)
    masks = rng.random((len(ds), p)) < 0.7
    shared = toy.train(theta0, ds, masks=masks, steps=50)
    each = toy.train(np.tile(theta0, (len(ds), 1)), ds, masks=masks, steps=50)
    assert shared.tobytes() == each.tobytes()
    assert np.all(shared[~masks] == 0.0)
    # One mask for all datasets is the same as that mask on every row.
    one = toy.train(theta0, ds, masks=masks[0], steps=50)
    again = toy.train(theta0, ds, masks=np.tile(masks[0], (len(ds), 1)), steps=50)
    assert one.tobytes() == again.tobytes()


def test_hvp_is_the_derivative_of_the_gradient():
    for task in ["regression", "classification"]:
        ds = toy.datasets(task=task, n=2)
        theta = toy.train(toy.init(task=task), ds, steps=20)
        rng = np.random.default_rng(1)
        v = rng.standard_normal(theta.shape)
        eps = 1e-5
        fd = (toy.gradient(theta + eps * v, ds) - toy.gradient(theta - eps * v, ds)) / (2 * eps)
        hv = toy.hvp(theta, v, ds)
        assert np.allclose(hv, fd, rtol=1e-4, atol=1e-6)


def test_information_with_runs_per_dataset():
    ds = toy.datasets(n=2)
    theta = toy.train(toy.init(), ds, steps=100)
    masks = toy.top_k(np.abs(theta), 8)
    once = toy.information(masks, ds.probabilities)
    # S identical runs per dataset: the same information, nothing conditional.
    thrice = toy.information(np.repeat(masks[:, None, :], 3, axis=1), ds.probabilities)
    assert thrice.bits == once.bits and thrice.h_cond_bits == 0.0
    # Random masks, independent of the data: I is H minus the conditional estimate, small.
    rng = np.random.default_rng(2)
    scores = rng.random((len(ds), 16, theta.shape[1]))
    random = toy.top_k(scores.reshape(-1, theta.shape[1]), 2).reshape(scores.shape)
    info = toy.information(random, ds.probabilities)
    assert info.h_bits > 7 and abs(info.bits) < 1.0


def test_datasets_are_the_enumeration_and_the_samples():
    ds = toy.datasets()
    assert len(ds) == 54264 and ds.num_params == 21
    assert ds.probabilities.sum() == 1.0
    assert ds.x.shape == (54264, 6, 3) and ds.y.shape == (54264, 6, 1)
    assert not ds.x.flags.writeable
    # Point ids encode inputs and label.
    bits = (ds.points[..., None] >> np.arange(4)) & 1
    assert np.array_equal(ds.x, np.where(bits[..., :3] == 1, 1.0, -1.0))
    assert np.array_equal(ds.y[..., 0], np.where(bits[..., 3] == 1, 1.0, -1.0))
    cls = toy.datasets(task="classification", n=2)
    assert cls.y.shape == (136, 2, 2) and np.all(cls.y.sum(axis=2) == 1.0)
    drawn = toy.sample_datasets(count=10, seed=3)
    assert len(drawn) == 10 and drawn.sampled and np.all(drawn.probabilities == 0.1)


def test_default_arrays_for_one_k_stay_under_100_mb():
    ds = toy.datasets()
    n, p = len(ds), ds.num_params
    theta = np.zeros((n, p))
    scores = theta * (theta - theta)
    masks, ties = toy.top_k(scores, 10, return_ties=True)
    arrays = [ds.x, ds.y, ds.probabilities, ds.points, theta, scores, masks, ties]
    assert sum(a.nbytes for a in arrays) < 100e6


def one_line_error(call, *words):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_bad_input_is_refused_naming_the_argument():
    ds = toy.datasets(n=2)
    theta0 = toy.init()
    p = theta0.size
    scores = np.ones((len(ds), p))
    probs = ds.probabilities
    masks = np.zeros((len(ds), p), dtype=bool)
    masks[:, 0] = True
    one_line_error(lambda: toy.train(theta0, ds, masks=masks.astype(np.uint8)), "masks", "bool")
    one_line_error(lambda: toy.train(theta0, ds, masks=masks[:5]), "masks", "shape")
    one_line_error(lambda: toy.train(theta0[:5], ds), "theta", "shape")
    one_line_error(lambda: toy.train(theta0.astype(np.float32), ds), "theta", "float64")
    one_line_error(lambda: toy.train(theta0 * np.nan, ds), "theta", "finite")
    one_line_error(lambda: toy.train(theta0, ds, lr=-1.0), "lr")
    one_line_error(lambda: toy.train(theta0, ds, steps=0), "steps")
    one_line_error(lambda: toy.gradient(np.ones((3, p)), ds), "theta", "shape")
    one_line_error(lambda: toy.hvp(theta0, np.ones(3), ds), "v", "shape")
    one_line_error(lambda: toy.gradient(theta0, ds, temperature=0.0), "temperature")
    for k in [0, p, -1]:
        one_line_error(lambda: toy.top_k(scores, k), "k", "[1, 20]")
    bad = scores.copy()
    bad[3, 4] = np.inf
    one_line_error(lambda: toy.top_k(bad, 5), "scores[3, 4]", "finite")
    one_line_error(lambda: toy.top_k(scores.astype(int), 5), "scores", "float64")
    one_line_error(lambda: toy.top_k([1.0, 2.0], 1), "scores", "NumPy array")
    negative = probs.copy()
    negative[0] = -negative[0]
    one_line_error(lambda: toy.information(masks, negative), "probabilities[0]")
    nan = probs.copy()
    nan[1] = np.nan
    one_line_error(lambda: toy.information(masks, nan), "probabilities[1]")
    one_line_error(lambda: toy.information(masks, probs * 1.001), "probabilities", "sum")
    one_line_error(lambda: toy.information(masks, probs[:-1]), "masks", "probabilities")
    one_line_error(lambda: toy.information(masks.astype(float), probs), "masks", "bool")
    one_line_error(lambda: toy.information(masks[0], probs), "masks", "shape")
    one_line_error(lambda: toy.datasets(task="vision"), "task")
    one_line_error(lambda: toy.datasets(n=40), "n", "[1, 30]")
    one_line_error(lambda: toy.datasets(n=12, max_datasets=1000), "max_datasets")
    one_line_error(lambda: toy.sample_datasets(count=0), "count")
    one_line_error(lambda: toy.init(hidden=100), "hidden")
    one_line_error(lambda: toy.synflow_gradient(np.ones(20)), "theta", "shape")
    # Probabilities within 1e-9 of summing to 1 are accepted.
    toy.information(masks, probs * (1 + 1e-10))


def test_work_releases_the_gil():
    ds = toy.datasets(n=4)
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    worker = threading.Thread(target=tick)
    worker.start()
    try:
        start = time.perf_counter()
        toy.train(toy.init(), ds, steps=8000)
        end = time.perf_counter()
    finally:
        stop.set()
        worker.join()
    assert end - start > 0.2, f"the call took {end - start:.3f} s, too short to tell"
    during = [t for t in ticks if start + 0.05 < t < end - 0.05]
    assert len(during) > 50, f"{len(during)} ticks during a {end - start:.2f} s call"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is POSIX")
def test_ctrl_c_stops_the_work():
    ds = toy.datasets()  # 54,264 datasets × 100,000 steps: minutes, unless interrupted
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        toy.train(toy.init(), ds, steps=100_000)
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("name", ["toy", *toy.__all__])
def test_docstring_examples(name):
    obj = toy if name == "toy" else getattr(toy, name)
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name, globs={}) if t.examples]
    if name in ("Datasets", "Information"):
        assert obj.__doc__, f"{name} has no docstring"
        return
    assert tests, f"{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted > 0
