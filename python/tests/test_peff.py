"""peff's Python package against the peff command line, and its error handling.

The command line is the reference: every value the package returns is compared with what the
built ``peff`` binary prints for the same input (``PEFF_BIN``, set by ``.ci/run``; the tests fail,
never skip, when it is missing).
"""

import ast
import collections
import copy
import csv
import doctest
import functools
import io
import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import peff
import peff.toy as toy

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-12


@pytest.fixture(scope="session")
def peff_bin() -> str:
    path = os.environ.get("PEFF_BIN", str(REPO / "target" / "release" / "peff"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"the peff binary is not at {path}: build it (cargo build --release) or set PEFF_BIN")
    return path


def run_cli(peff_bin, args, stdin=None, ok=True):
    """The CLI's (stdout, stderr); asserts its exit status."""
    proc = subprocess.run(
        [peff_bin, *args], input=stdin, capture_output=True, text=True, check=False
    )
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc.stdout, proc.stderr


def cli_error(peff_bin, args, stdin=None):
    """The CLI's one-line error message, without its `Error: ` prefix."""
    _, stderr = run_cli(peff_bin, args, stdin=stdin, ok=False)
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    return lines[0][len("Error: "):]


# ---- entropy: every estimator equals the CLI's ---------------------------------------------

VECTORS = [
    ([10, 5, 3, 1, 1], {"alphabet": 20}),
    ([10, 5, 3, 1, 1], {}),
    ([50, 30, 20], {"alphabet": 3}),
    ([1, 1, 1, 1], {"alphabet": 10}),
    ([3, 0, 7, 1, 1, 2, 9, 0, 4], {"alphabet": 1e6, "resamples": 200, "seed": 7, "confidence": 0.9}),
    ([100000, 1], {"alphabet": 2}),
    ([7], {"alphabet": 5}),
    (list(range(1, 300)), {"alphabet": 352716, "seed": 3}),
]


def cli_flags(options):
    flags = []
    for key, value in options.items():
        flags += [f"--{key}", repr(value) if isinstance(value, float) else str(value)]
    return flags


@pytest.mark.parametrize("counts,options", VECTORS)
def test_every_estimator_equals_the_cli(peff_bin, counts, options):
    stdout, _ = run_cli(
        peff_bin,
        ["entropy", "-", "--format", "json", *cli_flags(options)],
        stdin="".join(f"{c}\n" for c in counts),
    )
    rows = json.loads(stdout)
    got = peff.entropy(np.array(counts, dtype=np.int64), **options)
    assert list(got) == [r["estimator"] for r in rows]
    assert len(got) == 8
    for row in rows:
        est = got[row["estimator"]]
        assert abs(est.bits - row["estimate_bits"]) <= TOL
        assert abs(est.ci_low - row["ci_low_bits"]) <= TOL
        assert abs(est.ci_high - row["ci_high_bits"]) <= TOL
        if row["estimator"] == "nsb":
            assert est.sd is not None and abs(est.sd - row["sd_bits"]) <= TOL
        else:
            assert est.sd is None and row["sd_bits"] is None
    # a list, a tuple and other integer dtypes give the same numbers
    for same in (list(counts), tuple(counts), np.array(counts, dtype=np.uint32)):
        again = peff.entropy(same, **options)
        assert {k: v.bits for k, v in again.items()} == {k: v.bits for k, v in got.items()}


def test_estimate_repr_and_attributes():
    est = peff.entropy([4, 2, 1], alphabet=8)
    assert repr(est["nsb"]).startswith("Estimate(bits=") and "sd=" in repr(est["nsb"])
    assert "sd=" not in repr(est["plugin"])
    with pytest.raises(AttributeError):
        est["plugin"].bits = 1.0  # type: ignore[misc]


# ---- mask_counts ---------------------------------------------------------------------------


def reference_counts(rows):
    """Counts of distinct rows in order of first appearance, by Python's own hashing."""
    seen = collections.OrderedDict()
    for row in rows:
        key = tuple(int(x) for x in row)
        seen[key] = seen.get(key, 0) + 1
    return list(seen.values())


def test_mask_counts_on_crafted_arrays():
    m = np.array([[1, 0, 1], [0, 1, 1], [1, 0, 1], [0, 0, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)
    got = peff.mask_counts(m)
    assert got.dtype == np.uint64
    assert got.tolist() == [3, 2, 1]
    assert peff.mask_counts(m.astype(np.uint8)).tolist() == [3, 2, 1]
    # rows that differ only past the 8th entry (packed keys span bytes)
    wide = np.ones((3, 17), dtype=np.uint8)
    wide[1, 16] = 0
    assert peff.mask_counts(wide).tolist() == [2, 1]


def test_mask_counts_random_matches_python_hashing():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, size=(40, 37), dtype=np.uint8)
    m = base[rng.integers(0, 40, size=500)]
    assert peff.mask_counts(m).tolist() == reference_counts(m)
    _, unique_counts = np.unique(m, axis=0, return_counts=True)
    assert sorted(peff.mask_counts(m).tolist()) == sorted(unique_counts.tolist())


def test_mask_counts_reads_non_contiguous_arrays():
    rng = np.random.default_rng(1)
    m = rng.integers(0, 2, size=(60, 24), dtype=np.uint8).astype(bool)
    m[30:] = m[:30]
    fortran = np.asfortranarray(m)
    strided = m[:, ::2]
    reversed_rows = m[::-1]
    assert not fortran.flags.c_contiguous and not strided.flags.c_contiguous
    assert peff.mask_counts(fortran).tolist() == peff.mask_counts(m).tolist()
    assert peff.mask_counts(strided).tolist() == reference_counts(strided)
    assert peff.mask_counts(reversed_rows).tolist() == reference_counts(reversed_rows)
    broadcast = np.broadcast_to(np.array([1, 0, 1], dtype=bool), (5, 3))
    assert peff.mask_counts(broadcast).tolist() == [5]


def test_mask_counts_on_state_dict_like_dicts():
    rng = np.random.default_rng(2)
    masks = []
    for i in range(50):
        fc1 = rng.integers(0, 2, size=(4, 3)).astype(bool) if i % 3 else np.eye(4, 3, dtype=bool)
        fc2 = rng.integers(0, 2, size=(2,)).astype(np.uint8)
        # insertion order varies: the flattening order is the sorted key order
        d = {"fc2.weight_mask": fc2, "fc1.weight_mask": fc1} if i % 2 else {"fc1.weight_mask": fc1, "fc2.weight_mask": fc2}
        masks.append(d)
    flat = [np.concatenate([d["fc1.weight_mask"].ravel(), d["fc2.weight_mask"].ravel()]) for d in masks]
    assert peff.mask_counts(masks).tolist() == reference_counts(flat)
    assert peff.mask_counts(tuple(masks)).tolist() == reference_counts(flat)
    # Fortran-ordered entries are flattened in C order as well
    fortran = [{k: np.asfortranarray(v) for k, v in d.items()} for d in masks]
    assert peff.mask_counts(fortran).tolist() == reference_counts(flat)
    # the whole workflow
    est = peff.entropy(peff.mask_counts(masks), alphabet=2.0 ** 14)
    assert 0 < est["plugin"].bits <= math.log2(50)


def test_masks_from_npy_equal_the_cli(peff_bin, tmp_path):
    rng = np.random.default_rng(3)
    m = rng.integers(0, 2, size=(30, 10)).astype(bool)[rng.integers(0, 30, size=200)]
    path = tmp_path / "masks.npy"
    np.save(path, m)
    stdout, _ = run_cli(peff_bin, ["entropy", "--masks", str(path), "--alphabet", "1024", "--format", "json"])
    rows = json.loads(stdout)
    got = peff.entropy(peff.mask_counts(m), alphabet=1024)
    assert rows[0]["samples"] == 200 and rows[0]["distinct"] == len(peff.mask_counts(m))
    for row in rows:
        assert abs(got[row["estimator"]].bits - row["estimate_bits"]) <= TOL
        assert abs(got[row["estimator"]].ci_high - row["ci_high_bits"]) <= TOL


# ---- exact and sample against the CLI's CSV ------------------------------------------------


def assert_rows_equal_csv(rows, csv_text):
    reader = csv.DictReader(io.StringIO(csv_text))
    expected = list(reader)
    assert len(rows) == len(expected) > 0
    for got, want in zip(rows, expected):
        assert list(got) == reader.fieldnames
        for key, cell in want.items():
            value = got[key]
            if cell == "":
                assert value is None, key
            elif isinstance(value, str):
                assert value == cell, key
            else:
                assert isinstance(value, (int, float)), key
                assert abs(value - float(cell)) <= TOL, (key, value, cell)


TINY = {"n": 2, "steps": 20, "methods": ["magnitude", "snip", "random"], "k": [10, 5], "threads": 1}


def tiny_flags(config):
    flags = []
    for key, value in config.items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        flags += [f"--{key.replace('_', '-')}", text]
    return flags


def test_exact_equals_the_cli_csv(peff_bin, tmp_path):
    stdout, _ = run_cli(peff_bin, ["exact", *tiny_flags(TINY), "--format", "csv", "--out", str(tmp_path)])
    assert_rows_equal_csv(peff.exact(**TINY), stdout)
    config = {**TINY, "inits": 2, "task": "classification"}
    stdout, _ = run_cli(peff_bin, ["exact", *tiny_flags(config), "--format", "csv", "--out", str(tmp_path)])
    assert_rows_equal_csv(peff.exact(**config), stdout)


def test_sample_equals_the_cli_csv(peff_bin, tmp_path):
    config = {**TINY, "samples": 60, "seed": 4}
    stdout, _ = run_cli(peff_bin, ["sample", *tiny_flags(config), "--format", "csv", "--out", str(tmp_path)])
    assert_rows_equal_csv(peff.sample(**config), stdout)


def test_bound_and_ceiling_equal_the_cli(peff_bin):
    args = {"n": 1000, "d": 50, "epsilon": 0.1, "delta": 0.05, "c": 1, "w": 10, "j": 1, "mi": 20, "k": 100}
    stdout, _ = run_cli(peff_bin, ["bound", *tiny_flags(args)])
    assert peff.bound(**args) == json.loads(stdout)
    for p, k in [(21, 10), (21, 0), (64, 32), (1000, 500)]:
        assert abs(peff.ceiling_bits(p, k) - math.log2(math.comb(p, k))) <= 1e-9 * max(1, p)
    assert peff.ceiling_bits(21, 9) == math.log2(293930)


def test_noise_correlation_formula():
    rng = np.random.default_rng(5)
    f, z = rng.normal(size=1000), rng.choice([-1.0, 1.0], size=1000)
    e_mu = 0.3
    expected = np.mean((f - e_mu) * z)
    assert abs(peff.noise_correlation(f, e_mu, z) - expected) <= 1e-12
    assert abs(peff.noise_correlation(list(f), e_mu, list(z)) - expected) <= 1e-12
    assert abs(peff.noise_correlation(f.astype(np.float32), e_mu, z) - np.mean((f.astype(np.float32).astype(float) - e_mu) * z)) <= 1e-12


# ---- errors: ValueError with the CLI's message ---------------------------------------------


@pytest.mark.parametrize(
    "call,cli,stdin",
    [
        (lambda: peff.entropy([0, 0, 0]), ["entropy", "-"], "0\n0\n0\n"),
        (lambda: peff.entropy([1, 1, 1], alphabet=2), ["entropy", "-", "--alphabet", "2"], "1\n1\n1\n"),
        (lambda: peff.entropy([1, 2], resamples=1), ["entropy", "-", "--resamples", "1"], "1\n2\n"),
        (lambda: peff.entropy([1, 2], confidence=1.5), ["entropy", "-", "--confidence", "1.5"], "1\n2\n"),
        (lambda: peff.exact(n=40), ["exact", "--n", "40"], None),
        (lambda: peff.exact(methods="imp,bogus"), ["exact", "--methods", "imp,bogus"], None),
        (lambda: peff.exact(k=[25]), ["exact", "--k", "25"], None),
        (lambda: peff.sample(samples=0), ["sample", "--samples", "0"], None),
        (lambda: peff.bound(n=10, d=1, epsilon=1.5, delta=0.1, w=1, j=1, mi=0, k=1), ["bound", "--n", "10", "--d", "1", "--epsilon", "1.5", "--delta", "0.1", "--w", "1", "--j", "1", "--mi", "0", "--k", "1"], None),
    ],
)
def test_value_errors_carry_the_cli_message(peff_bin, call, cli, stdin):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == cli_error(peff_bin, cli, stdin)


@pytest.mark.parametrize(
    "counts,cli_input,message",
    [
        ([3, -2], "3\n-2\n", "negative count"),
        ([3, 1.5], "3\n1.5\n", "not an integer count"),
        (np.array([3.0, 1.0]), "3.0\n1\n", "not an integer count"),
        (np.array([3, -2], dtype=np.int8), "3\n-2\n", "negative count"),
    ],
)
def test_bad_counts(peff_bin, counts, cli_input, message):
    with pytest.raises(ValueError, match=message) as err:
        peff.entropy(counts)
    assert str(err.value).startswith("counts[")
    assert message in cli_error(peff_bin, ["entropy", "-"], cli_input)


def test_other_bad_counts():
    for bad, match in [
        ("123", "sequence of non-negative integers"),
        (5, "sequence of non-negative integers"),
        ({"a": 1}, "sequence of non-negative integers"),
        ([1, "a"], r"counts\[1\]: not an integer count: 'a'"),
        ([True, 2], r"counts\[0\]: not an integer count: True"),
        ([2**64], "count too large for u64"),
        (np.ones((2, 2), dtype=np.int64), r"counts must be a 1-D array, got shape \(2, 2\)"),
        (np.array([True, False]), "dtype bool"),
        ([], "no observations"),
    ]:
        with pytest.raises(ValueError, match=match):
            peff.entropy(bad)


def test_bad_masks_carry_the_cli_message(peff_bin, tmp_path):
    for array in [np.zeros((3, 4), dtype=np.float32), np.zeros((3, 4), dtype=np.int64), np.zeros(4, dtype=bool), np.zeros((2, 2, 2), dtype=np.uint8)]:
        path = tmp_path / "bad.npy"
        np.save(path, array)
        with pytest.raises(ValueError) as err:
            peff.mask_counts(array)
        cli = cli_error(peff_bin, ["entropy", "--masks", str(path)])
        # the same message after the location (`masks:` here, `--masks 'FILE':` there)
        assert str(err.value).startswith("masks: ")
        assert cli.endswith(str(err.value)[len("masks: "):]), (cli, str(err.value))
    twos = np.array([[0, 1], [2, 0]], dtype=np.uint8)
    np.save(tmp_path / "twos.npy", twos)
    with pytest.raises(ValueError) as err:
        peff.mask_counts(twos)
    assert str(err.value) == "mask 1, entry 0: value 2 is not 0 or 1"
    assert cli_error(peff_bin, ["entropy", "--masks", str(tmp_path / "twos.npy")]).endswith(str(err.value))


def test_bad_mask_dicts_name_the_first_that_differs():
    good = {"a": np.ones((2, 2), bool), "b": np.zeros(3, np.uint8)}
    cases = [
        ([good, good, {"a": np.ones((2, 3), bool), "b": np.zeros(3, np.uint8)}], "masks[2]['a'] has shape (2, 3), masks[0]['a'] has shape (2, 2)"),
        ([good, {"a": np.ones((2, 2), bool)}], "masks[1] lacks key 'b' of masks[0]"),
        ([good, {**good, "c": np.ones(1, bool)}], "masks[1] has key 'c', which masks[0] does not have"),
        ([good, {"a": np.ones((2, 2), np.float32), "b": np.zeros(3, np.uint8)}], "masks[1]['a']: dtype '<f4' is not a mask dtype: expected '|b1' (bool) or '|u1' (uint8)"),
        ([good, {"a": [[1, 1], [1, 1]], "b": np.zeros(3, np.uint8)}], "masks[1]['a'] must be a NumPy array of dtype bool or uint8, got list (for a torch tensor, pass .numpy())"),
        ([good, [1, 2]], "masks[1] must be a dict {name: array}, got list"),
        ([{}], "masks[0] is an empty dict"),
        ([], "no masks: the input holds 0 masks"),
        ("abc", "masks must be an (N, p) NumPy array of dtype bool or uint8, or a sequence of {name: array} dicts; got str"),
        (np.zeros((0, 3), bool), "no masks: the input holds 0 masks"),
        (np.zeros((3, 0), bool), "the masks have 0 entries"),
    ]
    for masks, message in cases:
        with pytest.raises(ValueError) as err:
            peff.mask_counts(masks)
        assert str(err.value) == message


def test_huge_inputs_are_refused_before_any_copy():
    # broadcast views: 2^33 entries, no memory behind them
    huge = np.broadcast_to(np.zeros(1, dtype=bool), (2**17, 2**16))
    with pytest.raises(ValueError, match=r"above peff's limit of 2\^32 = 4294967296 entries"):
        peff.mask_counts(huge)
    huge_dicts = [{"w": np.broadcast_to(np.zeros(1, np.uint8), (2**16, 2**16 + 1))}] * 2
    with pytest.raises(ValueError, match=r"2 masks of 4295032832 entries are above peff's limit"):
        peff.mask_counts(huge_dicts)
    with pytest.raises(ValueError, match=r"counts has 268435456 entries, above peff's limit of 2\^27"):
        peff.entropy(np.broadcast_to(np.ones(1, dtype=np.int64), (2**28,)))


def test_other_errors():
    with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
        peff.exact(out="results")
    with pytest.raises(TypeError, match="unexpected keyword argument 'inits'"):
        peff.sample(inits=2)
    with pytest.raises(ValueError, match=r"^k must be in \[0, p\] = \[0, 3\], got 4$"):
        peff.ceiling_bits(3, 4)
    with pytest.raises(ValueError, match="f_train has 2 values and z has 1"):
        peff.noise_correlation([1.0, 2.0], 0.0, [1.0])
    with pytest.raises(ValueError, match=r"z\[1\] is not finite: NaN"):
        peff.noise_correlation([1.0, 2.0], 0.0, [1.0, float("nan")])
    with pytest.raises(ValueError, match="f_train and z are empty"):
        peff.noise_correlation([], 0.0, [])


# ---- the GIL is released around long calls -------------------------------------------------


def test_entropy_releases_the_gil():
    """Another Python thread makes progress while a long entropy call runs."""
    rng = np.random.default_rng(6)
    counts = rng.integers(1, 50, size=200_000)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    worker = threading.Thread(target=ticker)
    worker.start()
    try:
        time.sleep(0.05)
        start = time.perf_counter()
        peff.entropy(counts, alphabet=1e7, resamples=20)
        end = time.perf_counter()
    finally:
        stop.set()
        worker.join()
    assert end - start > 0.2, f"the call took {end - start:.3f} s, too short to tell"
    # Holding the GIL, the call would let the ticker run only before it entered Rust (within a
    # switch interval of `start`) and after it returned.
    margin = 0.05
    during = [t for t in ticks if start + margin < t < end - margin]
    assert len(during) > 100, f"{len(during)} ticks during a {end - start:.2f} s call"


# ---- issue 28: Ctrl-C stops every long call -----------------------------------------------

# Each call runs far longer than the test waits for it (uninterrupted, measured on the loaded
# 2-core machine that wrote this test: exact about 270 s in windows of 0.1 s; sample about 70 s in
# windows of 0.15 s; sample's estimators (random masks: 1.1 s of training, then 18 rows of
# bootstrap) about 50 s in resamples of milliseconds; entropy about 200 s in resamples of 0.2 s;
# mask_counts about 55 s in rows of 4 ms), so a call that ignored Ctrl-C would end long after the
# bound below, even with its KeyboardInterrupt raised when it returned. Each entry: the call and
# the seconds before the SIGINT.
LONG_CALLS = {
    "exact": ("peff.exact(n=10, steps=300, methods='magnitude', k=10, threads=1)", 1.0),
    "sample": ("peff.sample(samples=4 * 10**6, steps=100, methods='magnitude', k=10, threads=1)", 1.0),
    "sample_estimators": ("peff.sample(samples=60_000, steps=1, methods='random', k=list(range(2, 20)), threads=1)", 3.0),
    "entropy": ("peff.entropy(np.random.default_rng(0).integers(1, 9, 2**20), alphabet=2**30)", 1.0),
    "mask_counts": ("peff.mask_counts(np.broadcast_to(np.zeros(1, bool), (2**14, 2**16)))", 1.0),
}

CHILD = """
import time
import numpy as np
import peff
print("ready", flush=True)
start = time.perf_counter()
try:
    {call}
except KeyboardInterrupt:
    print("interrupted", time.perf_counter() - start, flush=True)
else:
    print("finished", time.perf_counter() - start, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
@pytest.mark.parametrize("name", list(LONG_CALLS))
def test_ctrl_c_interrupts_long_calls(name):
    """Issue 28: Ctrl-C (SIGINT) a second into a long call raises KeyboardInterrupt at once."""
    call, delay = LONG_CALLS[name]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(call=call)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n", child.stderr.read()
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        sent = time.perf_counter()
        out, err = child.communicate(timeout=120)
        latency = time.perf_counter() - sent
    finally:
        child.kill()
        child.wait()
    assert out.startswith("interrupted"), (out, err)
    assert latency < 3.0, f"KeyboardInterrupt {latency:.2f} s after SIGINT: {out}"


# ---- issue 28: bad integers, floats and bools are a ValueError naming the argument ---------


@functools.cache
def _small():
    """Small valid inputs for the peff.toy functions: (16 datasets, θ0)."""
    return toy.datasets(n=1), toy.init()


BOUND = {"n": 1000, "d": 50, "epsilon": 0.5, "delta": 0.5, "w": 1, "j": 1, "mi": 3, "k": 1}

# function name → (call with keyword arguments, {argument: kind}); every other argument valid.
SIGNATURES = {
    "entropy": (lambda **kw: peff.entropy([3, 1], **kw), {"alphabet": "float or None", "resamples": "int", "seed": "int", "confidence": "float"}),
    "exact": (peff.exact, {
        **{a: "int or None" for a in ["n", "input_dim", "hidden", "steps", "synflow_rounds", "k", "init_seed", "inits", "random_seed", "threads", "max_datasets"]},
        **{a: "float or None" for a in ["lr", "imp_rate", "grasp_temperature", "sparsity"]},
    }),
    "sample": (peff.sample, {
        **{a: "int or None" for a in ["n", "input_dim", "hidden", "steps", "synflow_rounds", "k", "init_seed", "random_seed", "threads", "samples", "seed"]},
        **{a: "float or None" for a in ["lr", "imp_rate", "grasp_temperature", "sparsity"]},
    }),
    "bound": (lambda **kw: peff.bound(**{**BOUND, **kw}), {a: "float" for a in [*BOUND, "c"]}),
    "ceiling_bits": (lambda **kw: peff.ceiling_bits(**{"p": 4, "k": 2, **kw}), {"p": "int", "k": "int"}),
    "noise_correlation": (lambda **kw: peff.noise_correlation(**{"f_train": [1.0, 2.0], "f_mu_mean": 0.0, "z": [1.0, -1.0], **kw}), {"f_mu_mean": "float"}),
    "Estimate": (lambda **kw: peff.Estimate(**{"bits": 1.0, "ci_low": 0.5, "ci_high": 1.5, **kw}), {"bits": "float", "ci_low": "float", "ci_high": "float", "sd": "float or None"}),
    "toy.datasets": (lambda **kw: toy.datasets(**{"n": 1, **kw}), {"n": "int", "input_dim": "int or None", "hidden": "int or None", "max_datasets": "int"}),
    "toy.sample_datasets": (lambda **kw: toy.sample_datasets(**{"count": 3, **kw}), {"n": "int", "input_dim": "int or None", "hidden": "int or None", "count": "int", "seed": "int"}),
    "toy.init": (toy.init, {"init_seed": "int", "input_dim": "int or None", "hidden": "int or None"}),
    "toy.train": (lambda **kw: toy.train(_small()[1], _small()[0], **{"steps": 5, **kw}), {"steps": "int", "lr": "float"}),
    "toy.gradient": (lambda **kw: toy.gradient(_small()[1], _small()[0], **kw), {"temperature": "float"}),
    "toy.hvp": (lambda **kw: toy.hvp(_small()[1], _small()[1], _small()[0], **kw), {"temperature": "float"}),
    "toy.synflow_gradient": (lambda **kw: toy.synflow_gradient(np.abs(_small()[1]), **kw), {"input_dim": "int or None", "hidden": "int or None"}),
    "toy.top_k": (lambda **kw: toy.top_k(**{"scores": np.arange(6.0), "k": 2, **kw}), {"k": "int", "return_ties": "bool"}),
    "toy.Information": (lambda **kw: toy.Information(**{"bits": 1.0, "h_bits": 1.0, "h_cond_bits": 0.0, "h_cond_plugin_bits": 0.0, "distinct": 2, **kw}), {"distinct": "int", **{a: "float" for a in ["bits", "h_bits", "h_cond_bits", "h_cond_plugin_bits"]}}),
}

BAD = {
    # a bool (an int subclass), a NumPy bool, negative, beyond u64, beyond i128, a float, a str,
    # a list (of a bad item: one good item is a good list for the list flags of exact)
    "int": [True, False, np.True_, -1, 2**64, 2**200, 2.5, "3", [2.5]],
    # a bool, a NumPy bool, beyond float64, a str, a complex, a list (of a bad item)
    "float": [True, np.False_, 10**400, "0.5", 1j, ["x"]],
    # not a bool
    "bool": [1, 0, 1.0, "yes", np.int64(1), [True]],
}


def _bad_values(kind):
    values = BAD[kind.removesuffix(" or None")]
    return values if kind.endswith(" or None") else [*values, None]


def _names_argument(message, name):
    """Whether a one-line message names the argument: as Python spells it, or as its flag."""
    flag = "--" + name.replace("_", "-")
    return bool(re.match(rf"{re.escape(name)}\b", message)) or re.search(rf"{re.escape(flag)}\b", message) is not None


@pytest.mark.parametrize(
    "function,argument",
    [(f, a) for f, (_, arguments) in SIGNATURES.items() for a in arguments],
)
def test_bad_integers_floats_and_bools_raise_value_error_naming_the_argument(function, argument):
    """Issue 28: no OverflowError, no TypeError from PyO3's extraction, no True taken for 1."""
    call, arguments = SIGNATURES[function]
    for bad in _bad_values(arguments[argument]):
        with pytest.raises(ValueError) as err:
            call(**{argument: bad})
            pytest.fail(f"{function}({argument}={bad!r}) ran")
        message = str(err.value)
        assert "\n" not in message, (function, argument, bad, message)
        assert _names_argument(message, argument), (function, argument, bad, message)


def test_good_integers_floats_and_bools_are_accepted():
    """The other side of the refusals: NumPy integers and floats stand for Python ones."""
    assert peff.ceiling_bits(np.int64(21), np.uint8(10)) == peff.ceiling_bits(21, 10)
    a, b = peff.entropy([3, 1], resamples=np.int32(50), seed=np.uint64(2**64 - 1)), peff.entropy([3, 1], resamples=50, seed=2**64 - 1)
    assert a == b
    assert peff.entropy([3, 1], alphabet=np.float32(4.0))["nsb"] == peff.entropy([3, 1], alphabet=4)["nsb"]
    masks = toy.top_k(np.arange(6.0), np.int64(2), return_ties=np.True_)
    assert isinstance(masks, tuple) and masks[0].tolist() == [False] * 4 + [True] * 2
    assert toy.init(init_seed=np.uint64(3)).tobytes() == toy.init(init_seed=3).tobytes()
    assert peff.exact(n=np.int64(2), steps=20, methods=("magnitude",), k=(np.int64(10),), threads=1) == peff.exact(n=2, steps=20, methods="magnitude", k=10, threads=1)


# ---- issue 28: masked arrays and sets are refused ------------------------------------------


def _masked(array):
    return np.ma.masked_array(array, mask=np.zeros(np.shape(array), bool))


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: peff.entropy(_masked(np.array([3, 1]))), "counts"),
        (lambda: peff.entropy({3, 1}), "counts"),
        (lambda: peff.entropy(frozenset({3, 1})), "counts"),
        (lambda: peff.entropy({3: "a", 1: "b"}.keys()), "counts"),
        (lambda: peff.mask_counts(_masked(np.eye(3, dtype=bool))), "masks"),
        (lambda: peff.mask_counts([{"w": _masked(np.eye(3, dtype=np.uint8))}]), "masks[0]['w']"),
        (lambda: peff.mask_counts(set()), "masks"),
        (lambda: peff.noise_correlation(_masked(np.ones(3)), 0.0, np.ones(3)), "f_train"),
        (lambda: peff.noise_correlation([1.0, 2.0], 0.0, {1.0, -1.0}), "z"),
        (lambda: peff.exact(k={10, 5}), "--k"),
        (lambda: peff.exact(methods=frozenset({"magnitude", "snip"})), "--methods"),
        (lambda: peff.sample(sparsity={0.5, 0.9}), "--sparsity"),
        (lambda: toy.train(_masked(_small()[1]), _small()[0]), "theta"),
        (lambda: toy.train(_small()[1], _small()[0], masks=_masked(np.ones(21, bool))), "masks"),
        (lambda: toy.hvp(_small()[1], _masked(_small()[1]), _small()[0]), "v"),
        (lambda: toy.top_k(_masked(np.arange(6.0)), 2), "scores"),
        (lambda: toy.information(_masked(np.eye(2, dtype=bool)), np.array([0.5, 0.5])), "masks"),
        (lambda: toy.information(np.eye(2, dtype=bool), _masked(np.array([0.5, 0.5]))), "probabilities"),
    ],
)
def test_masked_arrays_and_sets_are_refused(call, name):
    """Issue 28: peff reads an array's data (a mask would be ignored) and a sequence's order."""
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(name) or f"`{name}`" in message, message
    assert ("masked array" in message) != ("order is arbitrary" in message), message


# ---- issue 28: Estimate and Information are values -----------------------------------------


def test_estimate_pickles_copies_and_compares_by_value():
    est = peff.entropy([10, 5, 3, 1, 1], alphabet=20)
    nsb, plugin = est["nsb"], est["plugin"]
    for e in (nsb, plugin):
        for again in (pickle.loads(pickle.dumps(e)), pickle.loads(pickle.dumps(e, protocol=0)), copy.copy(e), copy.deepcopy(e)):
            assert type(again) is peff.Estimate
            assert again == e and not (again != e)
            assert hash(again) == hash(e)
            assert (again.bits, again.ci_low, again.ci_high, again.sd) == (e.bits, e.ci_low, e.ci_high, e.sd)
    assert nsb != plugin and not (nsb == plugin)
    assert peff.entropy([10, 5, 3, 1, 1], alphabet=20) == est  # a dict of equal values
    assert len({nsb, copy.copy(nsb), plugin}) == 2
    # by value: each field matters, sd=None differs from sd=0.0, another type is never equal
    base = peff.Estimate(1.0, 0.5, 1.5)
    assert base == peff.Estimate(1, 0.5, 1.5, sd=None) and hash(base) == hash(peff.Estimate(1, 0.5, 1.5))
    for other in (peff.Estimate(1.0, 0.5, 1.6), peff.Estimate(1.0, 0.4, 1.5), peff.Estimate(1.1, 0.5, 1.5), peff.Estimate(1.0, 0.5, 1.5, sd=0.0)):
        assert base != other
    assert base != (1.0, 0.5, 1.5, None) and base != 1.0
    assert repr(pickle.loads(pickle.dumps(nsb))) == repr(nsb)
    with pytest.raises(AttributeError):
        base.bits = 2.0  # type: ignore[misc]


def test_information_pickles_copies_and_compares_by_value():
    info = toy.information(np.array([[1, 0, 1], [0, 1, 1]], dtype=bool), np.array([0.25, 0.75]))
    for again in (pickle.loads(pickle.dumps(info)), copy.copy(info), copy.deepcopy(info)):
        assert type(again) is toy.Information and again == info and hash(again) == hash(info)
    assert info != toy.Information(info.bits, info.h_bits, info.h_cond_bits, info.h_cond_plugin_bits, info.distinct + 1)


# ---- issue 28: noise_correlation is finite or says why -------------------------------------


def test_noise_correlation_is_finite_on_degenerate_inputs():
    """C is a mean of products, not a normalised correlation: no variance is divided by."""
    cases = [
        ([0.3, -1.2, 2.0], 0.1, [1.0, 1.0, 1.0]),  # constant noise
        ([0.7, 0.7, 0.7], 0.1, [1.0, -1.0, 1.0]),  # constant outputs
        ([0.7, 0.7], 0.7, [1.0, 1.0]),  # both constant, f = E_mu f
        ([2.5], -1.0, [-1.0]),  # one training point
        ([0.0, 0.0], 0.0, [0.0, 0.0]),  # all zero
    ]
    for f, e_mu, z in cases:
        got = peff.noise_correlation(f, e_mu, z)
        assert math.isfinite(got)
        assert abs(got - float(np.mean((np.array(f) - e_mu) * np.array(z)))) <= 1e-15


@pytest.mark.parametrize(
    "f,e_mu,z",
    [
        ([1e308, 1e308], 0.0, [1e308, -1e308]),  # products +inf and -inf: their sum is NaN
        ([1.0, 1.0], 0.0, [1.7e308, 1.7e308]),  # sum(z) overflows: E_mu f · z̄ = 0 · inf = NaN
        ([1e200], 0.0, [1e200]),  # one product overflows: inf
        ([1.0, 1.0], 1e300, [1e300, 1e300]),  # E_mu f · z̄ overflows: -inf
    ],
)
def test_noise_correlation_overflow_raises_instead_of_nan(f, e_mu, z):
    with pytest.raises(ValueError, match=r"^noise_correlation overflows float64 \(got (NaN|inf|-inf)\)"):
        peff.noise_correlation(f, e_mu, z)


# ---- issue 28: the stubs admit only what runs ----------------------------------------------


def _stub(name):
    """A stub's parameter annotations ({function: {parameter: annotation}}, overloads joined
    with ` | `) and its type aliases ({alias: value}), as source text."""
    tree = ast.parse((Path(peff.__file__).parent / name).read_text())
    functions = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            params = functions.setdefault(node.name, {})
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                if arg.annotation is not None:
                    text = ast.unparse(arg.annotation)
                    params[arg.arg] = f"{params[arg.arg]} | {text}" if arg.arg in params else text
    aliases = {t.targets[0].id: ast.unparse(t.value) for t in tree.body if isinstance(t, ast.Assign)}
    return functions, aliases


def test_stubs_admit_only_what_runs():
    """Issue 28: every argument's stub type agrees with what the function accepts."""
    stubs = {"peff": _stub("__init__.pyi"), "toy": _stub("toy.pyi")}
    # The kinds of test_bad_integers_floats_and_bools_... (each refused value checked there):
    # None is in the stub exactly where it runs, and the number type is the one that runs.
    for function, (_, arguments) in SIGNATURES.items():
        module, _, name = function.rpartition(".")
        functions, aliases = stubs[module or "peff"]
        # a class: its __new__
        params = _stub_class_new(module or "peff", name) if name[0].isupper() else functions[name]
        for argument, kind in arguments.items():
            annotation = params[argument]
            for alias, value in aliases.items():
                annotation = re.sub(rf"\b{alias}\b", value, annotation)
            assert ("None" in annotation) == kind.endswith(" or None"), (function, argument, annotation)
            expected = {"int": "int", "float": "float", "bool": "bool"}[kind.removesuffix(" or None")]
            assert re.search(rf"\b{expected}\b", annotation), (function, argument, annotation)
            assert "Sequence" not in annotation, (function, argument, annotation)
    # Enum-like strings are literals, and exactly the names that run.
    for module in ("peff", "toy"):
        assert stubs[module][1]["_Task"] == "Literal['regression', 'classification']"
    for task in ("regression", "classification"):
        assert toy.datasets(task=task, n=1).task == task
        assert peff.exact(task=task, n=1, steps=1, methods="magnitude", k=10, threads=1)
    with pytest.raises(ValueError, match="task"):
        toy.datasets(task="Regression")
    with pytest.raises(ValueError, match="--task"):
        peff.exact(task="Regression")
    # A list flag takes a list or a tuple, not any sequence.
    aliases = stubs["peff"][1]
    for alias in ("_IntList", "_FloatList", "_Names"):
        assert "Sequence" not in aliases[alias] and "list[" in aliases[alias] and "tuple[" in aliases[alias]
    tiny = {"n": 1, "steps": 1, "methods": "magnitude", "threads": 1}
    assert peff.exact(**tiny, k=[10, 5]) == peff.exact(**tiny, k=(10, 5))
    for not_a_list in (range(5, 11, 5), np.array([10, 5]), {10, 5}):
        with pytest.raises(ValueError, match="--k"):
            peff.exact(**tiny, k=not_a_list)
    # mask_counts takes dicts (not any mapping): the stub says dict.
    assert stubs["peff"][0]["mask_counts"]["masks"] == "_MaskArray | Sequence[dict[str, _MaskArray]]"
    with pytest.raises(ValueError, match=r"masks\[0\] must be a dict"):
        peff.mask_counts([collections.ChainMap({"w": np.ones(2, bool)})])


def _stub_class_new(module, name):
    """The parameter annotations of a stub class's __new__."""
    tree = ast.parse((Path(peff.__file__).parent / ("__init__.pyi" if module == "peff" else "toy.pyi")).read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    (new,) = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__new__"]
    return {a.arg: ast.unparse(a.annotation) for a in new.args.args if a.annotation is not None}


# ---- docstrings: every example runs --------------------------------------------------------


@pytest.mark.parametrize("name", ["peff", *peff.__all__])
def test_docstring_examples(name):
    obj = peff if name == "peff" else getattr(peff, name)
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name, globs={}) if t.examples]
    assert tests, f"{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted > 0
