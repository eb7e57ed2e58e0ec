//! `peff.toy`: the toy experiment's primitives (crate `peff::experiments::toy::primitives`),
//! vectorised over every dataset at once, for measuring a pruning criterion written in NumPy.
//!
//! ```text
//! datasets(...) / sample_datasets(...)   Datasets: x (N, n, d), y (N, n, o), probabilities (N,)
//! init(...)                              θ0 (p,)
//! train(theta, datasets, masks)          (N, p): peff exact's lockstep trainer, bit for bit
//! gradient / hvp / synflow_gradient      (N, p) / (N, p) / (p,)
//! top_k(scores, k, return_ties)          (N, p) bool, ties (N,) bool
//! information(masks, probabilities)      Information: bits, h_bits, h_cond_bits, distinct
//! ```
//!
//! Arguments and arrays are checked (type, dtype, shape, values) before any work, each refusal
//! a one-line `ValueError` naming the argument (args.rs); the work runs without the GIL on
//! rayon's pool, and Ctrl-C stops it (work.rs; checked every 50 ms, the work stops at its next
//! lockstep batch of datasets).

use numpy::ndarray::{Array, IxDyn};
use numpy::{
    IntoPyArray, PyArray1, PyArrayDescrMethods, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use peff::experiments::toy::primitives::{self, InputError, Rows, ToySpec};
use peff::experiments::toy::Dataset;
use peff::model::toy::lanes::TrainParams;

use crate::args::{unmasked, Arg, Int};
use crate::work::{finished, guard, interruptible};
use crate::{invalid, python_shape};

/// Most datasets `sample_datasets` draws.
const MAX_SAMPLES: u64 = 10_000_000;

fn input_error(e: InputError) -> PyErr {
    invalid(e)
}

/// A NumPy array's shape and values in C order, checked to be of dtype float64 (`float`) or
/// bool (`bool`, read as bytes, nonzero = True).
struct Array64 {
    shape: Vec<usize>,
    values: Vec<f64>,
}

fn not_array(obj: &Bound<'_, PyAny>, name: &str, dtype: &str) -> PyResult<PyErr> {
    Ok(invalid(format!(
        "{name} must be a NumPy array of dtype {dtype}, got {}",
        obj.get_type().name()?
    )))
}

fn dtype_str(array: &Bound<'_, PyUntypedArray>) -> PyResult<String> {
    array.dtype().getattr("str")?.extract()
}

fn float_array(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Array64> {
    let Some(array) = unmasked(obj, name)? else {
        return Err(not_array(obj, name, "float64")?);
    };
    let dtype = array.dtype();
    if dtype.kind() != b'f' || dtype.itemsize() != 8 {
        return Err(invalid(format!(
            "{name} must have dtype float64, got '{}'",
            dtype_str(array)?
        )));
    }
    let view: PyReadonlyArrayDyn<'_, f64> = obj.extract()?;
    let view = view.as_array();
    Ok(Array64 {
        shape: view.shape().to_vec(),
        values: view.iter().copied().collect(),
    })
}

fn bool_array(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<(Vec<usize>, Vec<bool>)> {
    let Some(array) = unmasked(obj, name)? else {
        return Err(not_array(obj, name, "bool")?);
    };
    if array.dtype().kind() != b'b' {
        return Err(invalid(format!(
            "{name} must have dtype bool, got '{}'",
            dtype_str(array)?
        )));
    }
    // Read through a uint8 view, so that no invalid `bool` is ever formed.
    let bytes = obj.call_method1("view", ("uint8",))?;
    let view: PyReadonlyArrayDyn<'_, u8> = bytes.extract()?;
    let view = view.as_array();
    Ok((
        view.shape().to_vec(),
        view.iter().map(|&b| b != 0).collect(),
    ))
}

/// Whether `shape` is `(p,)` (one row for every dataset) or `(N, p)`; the error names `name`.
fn row_shape(shape: &[usize], name: &str, n: usize, p: usize) -> PyResult<bool> {
    match shape {
        [q] if *q == p => Ok(false),
        [rows, q] if *rows == n && *q == p => Ok(true),
        _ => Err(invalid(format!(
            "{name} must have shape (p,) = ({p},) or (N, p) = ({n}, {p}), got {}",
            python_shape(shape)
        ))),
    }
}

fn rows<'a, T>(values: &'a [T], each: bool) -> Rows<'a, T> {
    if each {
        Rows::Each(values)
    } else {
        Rows::Shared(values)
    }
}

/// A row-major `Vec` as a NumPy array of `shape`.
fn to_numpy<'py, T: numpy::Element>(
    py: Python<'py>,
    values: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let array = Array::from_shape_vec(IxDyn(shape), values)
        .map_err(|e| PyRuntimeError::new_err(format!("internal shape error: {e}")))?;
    Ok(array.into_pyarray(py))
}

fn read_only<'py, T: numpy::Element, D: numpy::ndarray::Dimension>(
    array: Bound<'py, numpy::PyArray<T, D>>,
) -> PyResult<Bound<'py, numpy::PyArray<T, D>>> {
    array.getattr("flags")?.setattr("writeable", false)?;
    Ok(array)
}

/// The datasets of the toy task: every multiset of ``n`` points (``datasets``) or ``count``
/// drawn ones (``sample_datasets``), with the model they are trained on.
///
/// Attributes: ``x`` ``(N, n, d)`` inputs in ``{±1}``; ``y`` ``(N, n, o)`` targets (regression:
/// the label ``±1`` on every output; classification: the one-hot class ``(label + 1)/2``);
/// ``probabilities`` ``(N,)`` (enumerated: the exact multinomial probability
/// ``n!/Π c_j! · V^(−n)`` of each multiset, summing to 1; drawn: ``1/N`` each); ``points``
/// ``(N, n)`` the sorted point ids (bit ``t`` of an id: ``x_t = +1``; bit ``d``: label ``+1``);
/// ``task``, ``n``, ``input_dim``, ``hidden``, ``outputs``, ``num_params`` (``p``) and
/// ``sampled``. The arrays are read-only: training reads the datasets themselves.
/// ``len(datasets)`` is ``N``.
#[pyclass(frozen, module = "peff.toy", name = "Datasets")]
pub struct PyDatasets {
    spec: ToySpec,
    datasets: Vec<Dataset>,
    sampled: bool,
    x: Py<PyArrayDyn<f64>>,
    y: Py<PyArrayDyn<f64>>,
    probabilities: Py<PyArray1<f64>>,
    points: Py<PyArrayDyn<u32>>,
}

#[pymethods]
impl PyDatasets {
    #[getter]
    fn x(&self, py: Python<'_>) -> Py<PyArrayDyn<f64>> {
        self.x.clone_ref(py)
    }
    #[getter]
    fn y(&self, py: Python<'_>) -> Py<PyArrayDyn<f64>> {
        self.y.clone_ref(py)
    }
    #[getter]
    fn probabilities(&self, py: Python<'_>) -> Py<PyArray1<f64>> {
        self.probabilities.clone_ref(py)
    }
    #[getter]
    fn points(&self, py: Python<'_>) -> Py<PyArrayDyn<u32>> {
        self.points.clone_ref(py)
    }
    #[getter]
    fn task(&self) -> &'static str {
        self.spec.task
    }
    #[getter]
    fn n(&self) -> usize {
        self.spec.space.n
    }
    #[getter]
    fn input_dim(&self) -> usize {
        self.spec.shape.input_dim
    }
    #[getter]
    fn hidden(&self) -> usize {
        self.spec.shape.hidden
    }
    #[getter]
    fn outputs(&self) -> usize {
        self.spec.shape.outputs
    }
    #[getter]
    fn num_params(&self) -> usize {
        self.spec.num_params()
    }
    #[getter]
    fn sampled(&self) -> bool {
        self.sampled
    }
    fn __len__(&self) -> usize {
        self.datasets.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "Datasets(task='{}', N={}, n={}, input_dim={}, hidden={}, p={}, sampled={})",
            self.spec.task,
            self.datasets.len(),
            self.spec.space.n,
            self.spec.shape.input_dim,
            self.spec.shape.hidden,
            self.spec.num_params(),
            if self.sampled { "True" } else { "False" }
        )
    }
}

impl PyDatasets {
    fn new(py: Python<'_>, spec: ToySpec, datasets: Vec<Dataset>, sampled: bool) -> PyResult<Self> {
        let (count, points_per, d, o) = (
            datasets.len(),
            spec.space.n,
            spec.shape.input_dim,
            spec.shape.outputs,
        );
        let (x, y) = spec.inputs_and_targets(&datasets);
        let probabilities = spec.probabilities(&datasets, sampled);
        let points: Vec<u32> = datasets
            .iter()
            .flat_map(|ds| ds.ids.iter().copied())
            .collect();
        Ok(PyDatasets {
            x: read_only(to_numpy(py, x, &[count, points_per, d])?)?.unbind(),
            y: read_only(to_numpy(py, y, &[count, points_per, o])?)?.unbind(),
            probabilities: read_only(PyArray1::from_vec(py, probabilities))?.unbind(),
            points: read_only(to_numpy(py, points, &[count, points_per])?)?.unbind(),
            spec,
            datasets,
            sampled,
        })
    }
}

/// Mask information in bits (``peff.toy.information``).
///
/// Attributes: ``bits`` (``I(m; D | init) = h_bits − h_cond_bits``; for one mask per dataset,
/// the exact ``H(m | init)``), ``h_bits`` (``H(m | init)``, the entropy of the mask pmf),
/// ``h_cond_bits`` (``E_D H(m | D, init)`` by Chao–Wang–Jost over each dataset's runs; 0 for one
/// mask per dataset), ``h_cond_plugin_bits`` (the same by the plug-in) and ``distinct`` (the
/// number of distinct masks).
///
/// A value, as ``peff.Estimate``: ``Information(bits, h_bits, h_cond_bits, h_cond_plugin_bits,
/// distinct)`` builds one; equal fields compare (and hash) equal; it pickles and copies.
#[pyclass(frozen, module = "peff.toy", name = "Information", get_all)]
pub struct PyInformation {
    bits: f64,
    h_bits: f64,
    h_cond_bits: f64,
    h_cond_plugin_bits: f64,
    distinct: u64,
}

impl PyInformation {
    /// The fields in the constructor's order.
    fn fields(&self) -> (f64, f64, f64, f64, u64) {
        (
            self.bits,
            self.h_bits,
            self.h_cond_bits,
            self.h_cond_plugin_bits,
            self.distinct,
        )
    }
}

#[pymethods]
impl PyInformation {
    #[new]
    fn new(
        bits: Arg<f64>,
        h_bits: Arg<f64>,
        h_cond_bits: Arg<f64>,
        h_cond_plugin_bits: Arg<f64>,
        distinct: Arg<Int>,
    ) -> PyResult<Self> {
        Ok(PyInformation {
            bits: bits.get("bits")?,
            h_bits: h_bits.get("h_bits")?,
            h_cond_bits: h_cond_bits.get("h_cond_bits")?,
            h_cond_plugin_bits: h_cond_plugin_bits.get("h_cond_plugin_bits")?,
            distinct: distinct
                .get("distinct")?
                .in_range("distinct", 0..=u64::MAX)?,
        })
    }

    /// `(Information, fields)`: what `pickle` and `copy` rebuild it from.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (Bound<'py, pyo3::types::PyType>, (f64, f64, f64, f64, u64)) {
        (slf.get_type(), slf.get().fields())
    }

    /// Equal when every field is (NaN equals nothing); another type is `NotImplemented`.
    fn __eq__(&self, other: &Bound<'_, Self>) -> bool {
        self.fields() == other.get().fields()
    }

    /// The hash of the tuple of fields, so that equal values hash equal.
    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.fields().into_pyobject(py)?.hash()
    }

    fn __repr__(&self) -> String {
        format!(
            "Information(bits={:?}, h_bits={:?}, h_cond_bits={:?}, distinct={})",
            self.bits, self.h_bits, self.h_cond_bits, self.distinct
        )
    }
}

/// The toy model and dataset space of the arguments `task`, `n`, `input_dim` and `hidden`.
fn spec_of(
    task: Arg<String>,
    n: Arg<Int>,
    input_dim: Option<Arg<Int>>,
    hidden: Option<Arg<Int>>,
) -> PyResult<ToySpec> {
    let optional = |arg: Option<Arg<Int>>, name: &str| -> PyResult<Option<i64>> {
        arg.map(|a| a.get(name)?.to_i64(name)).transpose()
    };
    let task = task.get("task")?;
    let n = n.get("n")?.to_i64("n")?;
    let input_dim = optional(input_dim, "input_dim")?;
    let hidden = optional(hidden, "hidden")?;
    ToySpec::new(&task, n, input_dim, hidden).map_err(input_error)
}

/// The `datasets` argument, a `Datasets` (a `ValueError` naming it otherwise).
fn datasets_of<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyDatasets>> {
    obj.cast::<PyDatasets>().map_err(|_| {
        invalid(format!(
            "datasets must be a peff.toy.Datasets (from toy.datasets or toy.sample_datasets), got {}",
            crate::short_repr(obj)
        ))
    })
}

/// Every dataset of the toy task: each multiset of ``n`` points of ``{±1}^d × {±1}``, in
/// ``peff exact``'s enumeration order, with its exact probability.
///
/// Keyword arguments are ``peff exact``'s flags (``task``: ``"regression"`` or
/// ``"classification"``; ``n``; ``input_dim`` and ``hidden`` override the preset's). Refuses
/// (``ValueError``) an enumeration of more than ``max_datasets`` multisets (the default, 10^7,
/// takes about 2 GB of arrays). The default task has 54,264 datasets.
///
/// >>> import peff.toy as toy
/// >>> ds = toy.datasets(n=2)
/// >>> len(ds), ds.x.shape, ds.y.shape, ds.num_params
/// (136, (136, 2, 3), (136, 2, 1), 21)
/// >>> float(ds.probabilities.sum())
/// 1.0
#[pyfunction]
#[pyo3(
    signature = (task=Arg::of("regression"), n=Arg::int(6), input_dim=None, hidden=None, max_datasets=Arg::int(10000000)),
    text_signature = "(task='regression', n=6, input_dim=None, hidden=None, max_datasets=10000000)"
)]
fn datasets(
    py: Python<'_>,
    task: Arg<String>,
    n: Arg<Int>,
    input_dim: Option<Arg<Int>>,
    hidden: Option<Arg<Int>>,
    max_datasets: Arg<Int>,
) -> PyResult<PyDatasets> {
    guard(|| {
        let spec = spec_of(task, n, input_dim, hidden)?;
        let max_datasets = max_datasets.get("max_datasets")?;
        let max_datasets: u64 = max_datasets
            .within(1..=u64::MAX)
            .map_err(|got| invalid(format!("max_datasets must be ≥ 1, got {got}")))?;
        let all = spec.enumerate(max_datasets).map_err(input_error)?;
        PyDatasets::new(py, spec, all, false)
    })
}

/// ``count`` datasets drawn as ``peff sample --samples count --seed seed`` draws them (dataset
/// ``i`` from its own stream), each with probability ``1/count``. Keyword arguments as
/// ``datasets``.
///
/// >>> import peff.toy as toy
/// >>> ds = toy.sample_datasets(count=100, seed=1)
/// >>> len(ds), ds.sampled, float(ds.probabilities[0])
/// (100, True, 0.01)
#[pyfunction]
#[pyo3(
    signature = (task=Arg::of("regression"), n=Arg::int(6), input_dim=None, hidden=None, count=Arg::int(32000), seed=Arg::int(0)),
    text_signature = "(task='regression', n=6, input_dim=None, hidden=None, count=32000, seed=0)"
)]
fn sample_datasets(
    py: Python<'_>,
    task: Arg<String>,
    n: Arg<Int>,
    input_dim: Option<Arg<Int>>,
    hidden: Option<Arg<Int>>,
    count: Arg<Int>,
    seed: Arg<Int>,
) -> PyResult<PyDatasets> {
    guard(|| {
        let spec = spec_of(task, n, input_dim, hidden)?;
        let count = count.get("count")?.in_range("count", 1..=MAX_SAMPLES)?;
        let seed = seed.get("seed")?.in_range("seed", 0..=u64::MAX)?;
        PyDatasets::new(py, spec, spec.sample(count, seed), true)
    })
}

/// The initial parameters ``θ0`` ``(p,)`` of ``peff exact --init-seed init_seed`` (PyTorch's
/// ``nn.Linear`` default: each layer's weights and biases from ``U(−1/√fan_in, 1/√fan_in)``).
///
/// Index order (the order of every parameter row and mask of ``peff.toy``): ``W1`` (``h × d``,
/// row-major: ``W1[j, t]`` at ``j·d + t``), ``b1`` (``h``), ``W2`` (``o × h``, row-major), ``b2``
/// (``o``); ``p = h·d + h + o·h + o`` (21 for regression, 20 for classification).
///
/// >>> import peff.toy as toy
/// >>> theta0 = toy.init()
/// >>> theta0.shape, round(float(theta0[0]), 6)
/// ((21,), 0.241419)
#[pyfunction]
#[pyo3(
    signature = (task=Arg::of("regression"), init_seed=Arg::int(0), input_dim=None, hidden=None),
    text_signature = "(task='regression', init_seed=0, input_dim=None, hidden=None)"
)]
fn init<'py>(
    py: Python<'py>,
    task: Arg<String>,
    init_seed: Arg<Int>,
    input_dim: Option<Arg<Int>>,
    hidden: Option<Arg<Int>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    guard(|| {
        let spec = spec_of(task, Arg::int(1), input_dim, hidden)?;
        let init_seed = init_seed
            .get("init_seed")?
            .in_range("init_seed", 0..=u64::MAX)?;
        Ok(PyArray1::from_vec(py, spec.init(init_seed)))
    })
}

/// Trains one network per dataset with ``peff exact``'s lockstep trainer, bit for bit:
/// full-batch gradient descent ``θ ← θ − lr · (m ⊙ ∇L(θ))`` for ``steps`` steps from
/// ``theta ⊙ m``.
///
/// ``theta`` is ``(p,)`` float64 (every dataset starts there; ``init()`` for ``peff exact``'s
/// runs) or ``(N, p)``; ``masks`` is ``None`` (dense), ``(p,)`` or ``(N, p)`` bool (pruned
/// parameters start at 0 and stay there). Returns the trained parameters ``(N, p)``; a run that
/// diverged (non-finite loss or parameters, what ``peff exact`` counts in ``diverged``) is a
/// row of NaN. Runs on all cores without the GIL; Ctrl-C stops it.
///
/// >>> import numpy as np, peff.toy as toy
/// >>> ds = toy.datasets(n=2)
/// >>> theta = toy.train(toy.init(), ds, steps=100)
/// >>> theta.shape, bool(np.isfinite(theta).all())
/// ((136, 21), True)
#[pyfunction]
#[pyo3(
    signature = (theta, datasets, masks=None, steps=Arg::int(2000), lr=Arg::of(0.1)),
    text_signature = "(theta, datasets, masks=None, steps=2000, lr=0.1)"
)]
fn train<'py>(
    py: Python<'py>,
    theta: &Bound<'py, PyAny>,
    datasets: &Bound<'py, PyAny>,
    masks: Option<&Bound<'py, PyAny>>,
    steps: Arg<Int>,
    lr: Arg<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    guard(|| {
        let ds = datasets_of(datasets)?.get();
        let (steps, lr) = (steps.get("steps")?, lr.get("lr")?);
        let (n, p) = (ds.datasets.len(), ds.spec.num_params());
        let theta = float_array(theta, "theta")?;
        let theta_each = row_shape(&theta.shape, "theta", n, p)?;
        let masks = match masks {
            Some(m) => {
                let (shape, values) = bool_array(m, "masks")?;
                let each = row_shape(&shape, "masks", n, p)?;
                Some((values, each))
            }
            None => None,
        };
        let steps = steps.in_range("steps", 1..=10_000_000usize)?;
        let params = TrainParams { steps, lr };
        let start = rows(&theta.values, theta_each);
        let mask_rows = masks.as_ref().map(|(v, each)| rows(v, *each));
        let trained = interruptible(py, |stop| {
            ds.spec
                .train(&ds.datasets, start, mask_rows, params, stop)
                .map_err(input_error)
        })?;
        to_numpy(py, finished(trained)?, &[n, p])
    })
}

/// The gradient ``∇L(θ)`` of the training loss on each dataset, ``(N, p)``.
///
/// ``theta`` is ``(p,)`` or ``(N, p)`` float64; ``temperature`` divides the outputs (GraSP's
/// ``T_g``; 1 for the plain loss). The same bits as the gradient SNIP and GraSP use in
/// ``peff exact``.
///
/// >>> import peff.toy as toy
/// >>> ds = toy.datasets(n=2)
/// >>> toy.gradient(toy.init(), ds).shape
/// (136, 21)
#[pyfunction]
#[pyo3(
    signature = (theta, datasets, temperature=Arg::of(1.0)),
    text_signature = "(theta, datasets, temperature=1.0)"
)]
fn gradient<'py>(
    py: Python<'py>,
    theta: &Bound<'py, PyAny>,
    datasets: &Bound<'py, PyAny>,
    temperature: Arg<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    guard(|| {
        let ds = datasets_of(datasets)?.get();
        let temperature = temperature.get("temperature")?;
        let (n, p) = (ds.datasets.len(), ds.spec.num_params());
        let theta = float_array(theta, "theta")?;
        let each = row_shape(&theta.shape, "theta", n, p)?;
        let theta = rows(&theta.values, each);
        let out = interruptible(py, |stop| {
            ds.spec
                .gradient(&ds.datasets, theta, temperature, stop)
                .map_err(input_error)
        })?;
        to_numpy(py, finished(out)?, &[n, p])
    })
}

/// The Hessian-vector product ``∇²L(θ) v`` on each dataset, ``(N, p)``: exact, by
/// Pearlmutter's R-operator (GraSP's ``H g``).
///
/// ``theta`` and ``v`` are ``(p,)`` or ``(N, p)`` float64; ``temperature`` as in ``gradient``.
///
/// >>> import peff.toy as toy
/// >>> ds = toy.datasets(n=2)
/// >>> theta0 = toy.init()
/// >>> toy.hvp(theta0, toy.gradient(theta0, ds), ds).shape
/// (136, 21)
#[pyfunction]
#[pyo3(
    signature = (theta, v, datasets, temperature=Arg::of(1.0)),
    text_signature = "(theta, v, datasets, temperature=1.0)"
)]
fn hvp<'py>(
    py: Python<'py>,
    theta: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    datasets: &Bound<'py, PyAny>,
    temperature: Arg<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    guard(|| {
        let ds = datasets_of(datasets)?.get();
        let temperature = temperature.get("temperature")?;
        let (n, p) = (ds.datasets.len(), ds.spec.num_params());
        let theta = float_array(theta, "theta")?;
        let theta_each = row_shape(&theta.shape, "theta", n, p)?;
        let v = float_array(v, "v")?;
        let v_each = row_shape(&v.shape, "v", n, p)?;
        let (theta, v) = (rows(&theta.values, theta_each), rows(&v.values, v_each));
        let out = interruptible(py, |stop| {
            ds.spec
                .hvp(&ds.datasets, theta, v, temperature, stop)
                .map_err(input_error)
        })?;
        to_numpy(py, finished(out)?, &[n, p])
    })
}

/// SynFlow's gradient ``∂/∂θ Σ_o f_o(1)`` (the network on the all-ones input) at ``theta``
/// ``(p,)`` float64, for the model of ``task``, ``input_dim``, ``hidden``. Returns ``(p,)``.
///
/// >>> import numpy as np, peff.toy as toy
/// >>> g = toy.synflow_gradient(np.abs(toy.init()))
/// >>> g.shape, float(g[-1])
/// ((21,), 1.0)
#[pyfunction]
#[pyo3(
    signature = (theta, task=Arg::of("regression"), input_dim=None, hidden=None),
    text_signature = "(theta, task='regression', input_dim=None, hidden=None)"
)]
fn synflow_gradient<'py>(
    py: Python<'py>,
    theta: &Bound<'py, PyAny>,
    task: Arg<String>,
    input_dim: Option<Arg<Int>>,
    hidden: Option<Arg<Int>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    guard(|| {
        let spec = spec_of(task, Arg::int(1), input_dim, hidden)?;
        let theta = float_array(theta, "theta")?;
        row_shape(&theta.shape, "theta", 1, spec.num_params())?;
        let g = spec.synflow_gradient(&theta.values).map_err(input_error)?;
        Ok(PyArray1::from_vec(py, g))
    })
}

/// Keeps the ``k`` largest scores of each row, with peff's rule: scores snapped to 40
/// significant bits, the largest first, ties to the lower index (the rule of every built-in
/// method, so equal scores give ``peff exact``'s masks).
///
/// ``scores`` is ``(N, p)`` (or ``(p,)``) float64, all finite; ``k`` in ``[1, p − 1]``. Returns
/// the bool masks of the same shape; with ``return_ties=True``, ``(masks, ties)``, ``ties``
/// ``(N,)`` (or a 0-d array) True where the cut fell inside a tie (the k-th and (k+1)-th ranked
/// scores snap equal: the index decided), as ``peff exact``'s ``tie_mass`` counts.
///
/// >>> import numpy as np, peff.toy as toy
/// >>> masks, ties = toy.top_k(np.array([[1.0, 3.0, 3.0, 0.5]]), 1, return_ties=True)
/// >>> masks.tolist(), ties.tolist()
/// ([[False, True, False, False]], [True])
#[pyfunction]
#[pyo3(
    signature = (scores, k, return_ties=Arg::of(false)),
    text_signature = "(scores, k, return_ties=False)"
)]
fn top_k<'py>(
    py: Python<'py>,
    scores: &Bound<'py, PyAny>,
    k: Arg<Int>,
    return_ties: Arg<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let (k, return_ties) = (k.get("k")?.to_i64("k")?, return_ties.get("return_ties")?);
        let scores = float_array(scores, "scores")?;
        let (rows_shape, p) = match scores.shape[..] {
            [p] => (vec![], p),
            [n, p] => (vec![n], p),
            _ => {
                return Err(invalid(format!(
                    "scores must have shape (N, p) or (p,), got {}",
                    python_shape(&scores.shape)
                )))
            }
        };
        let (masks, ties) = interruptible(py, |_| {
            primitives::top_k(&scores.values, p, k).map_err(input_error)
        })?;
        let masks = to_numpy(py, masks, &scores.shape)?.into_any();
        if !return_ties {
            return Ok(masks);
        }
        let ties = to_numpy(py, ties, &rows_shape)?.into_any();
        Ok(PyTuple::new(py, [masks, ties])?.into_any())
    })
}

/// The information the masks carry about the datasets, in bits (``peff exact``'s and
/// ``peff stochastic``'s estimate).
///
/// ``masks`` is ``(N, p)`` bool, one mask per dataset (a deterministic method): ``bits`` is the
/// exact ``H(m | init) = −Σ_m q_m log2 q_m`` of the pmf ``q_m = Σ_{D: m(D) = m} P(D)``, which for
/// a deterministic method is ``I(m; D | init)`` (``peff exact``'s ``entropy_bits`` and
/// ``mi_bits``, bit for bit with ``datasets().probabilities``). Or ``(N, S, p)``: ``S`` masks
/// per dataset (a random method, or ``S`` training seeds): ``bits`` is
/// ``I = H(m | init) − E_D H(m | D, init)`` as ``peff stochastic`` computes it (mixture by
/// plug-in, each dataset's ``S`` masks by Chao–Wang–Jost). ``probabilities`` ``(N,)`` float64:
/// finite, ≥ 0, summing to 1 within 1e-9 (drop diverged datasets and renormalise, as
/// ``peff exact`` leaves them out of the pmf). At most 64 entries per mask.
///
/// >>> import numpy as np, peff.toy as toy
/// >>> masks = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
/// >>> info = toy.information(masks, np.array([0.25, 0.75]))
/// >>> round(info.bits, 6), info.distinct
/// (0.811278, 2)
#[pyfunction]
fn information(
    py: Python<'_>,
    masks: &Bound<'_, PyAny>,
    probabilities: &Bound<'_, PyAny>,
) -> PyResult<PyInformation> {
    guard(|| {
        let (shape, values) = bool_array(masks, "masks")?;
        let (n, runs, p) = match shape[..] {
            [n, p] => (n, 1, p),
            [n, s, p] => (n, s, p),
            _ => {
                return Err(invalid(format!(
                    "masks must have shape (N, p) or (N, S, p), got {}",
                    python_shape(&shape)
                )))
            }
        };
        let probs = float_array(probabilities, "probabilities")?;
        if probs.shape.len() != 1 {
            return Err(invalid(format!(
                "probabilities must have shape (N,), got {}",
                python_shape(&probs.shape)
            )));
        }
        if probs.values.len() != n {
            return Err(invalid(format!(
                "masks has {n} datasets and probabilities {}; they must have one entry per dataset",
                probs.values.len()
            )));
        }
        let info = interruptible(py, |_| {
            primitives::information(&values, runs, p, &probs.values).map_err(input_error)
        })?;
        Ok(PyInformation {
            bits: info.bits,
            h_bits: info.h_bits,
            h_cond_bits: info.h_cond_bits,
            h_cond_plugin_bits: info.h_cond_plugin_bits,
            distinct: info.distinct,
        })
    })
}

/// Adds the `toy` submodule to `parent`.
pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "toy")?;
    m.add_class::<PyDatasets>()?;
    m.add_class::<PyInformation>()?;
    m.add_function(wrap_pyfunction!(datasets, &m)?)?;
    m.add_function(wrap_pyfunction!(sample_datasets, &m)?)?;
    m.add_function(wrap_pyfunction!(init, &m)?)?;
    m.add_function(wrap_pyfunction!(train, &m)?)?;
    m.add_function(wrap_pyfunction!(gradient, &m)?)?;
    m.add_function(wrap_pyfunction!(hvp, &m)?)?;
    m.add_function(wrap_pyfunction!(synflow_gradient, &m)?)?;
    m.add_function(wrap_pyfunction!(top_k, &m)?)?;
    m.add_function(wrap_pyfunction!(information, &m)?)?;
    parent.add_submodule(&m)
}
