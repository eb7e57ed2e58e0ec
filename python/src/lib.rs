//! Python bindings of peff (`import peff`): the eight entropy estimators with bootstrap
//! intervals, the counts of distinct pruning masks, the toy tables of `peff exact` and
//! `peff sample`, Theorem 5.6 and its ceiling, and the noise-correlation proxy. Every entropy is
//! in bits.
//!
//! ```text
//! entropy(counts)          every estimator of crate peff::info::estimators, as `peff entropy`
//! mask_counts(masks)       c_j = #{r : mask r = the j-th distinct mask}   (peff::info::masks)
//! exact(**config)          the rows of `peff exact --format csv` for the same flags
//! sample(**config)         the rows of `peff sample --format csv` for the same flags
//! bound(...)               Theorem 5.6 (peff::info::bound), as `peff bound`
//! ceiling_bits(p, k)       log2 C(p, k)
//! noise_correlation(f, E, z)   C = (1/n) Σ_i (f(x_i) − E_μ f) z_i
//! toy.*                    the toy experiment's primitives, vectorised over datasets (toy.rs)
//! ```
//!
//! Conventions: keyword arguments are the CLI's flags with `-` → `_`, read into the library's
//! settings (`peff::experiments::toy::settings::ToySettings`) and validated by the library, as
//! the command line's flags are (never through the CLI's parser); invalid input raises
//! `ValueError` with the CLI's one-line message (flags named as on the command line), and any
//! other bad argument (a bool for a number, an integer out of range, a masked array, a set for
//! a sequence) a one-line `ValueError` naming it (args.rs); inputs are validated before any
//! work, every long computation runs without the GIL and stops on Ctrl-C, and a panic inside
//! peff becomes a `RuntimeError` (it never unwinds into Python) (work.rs).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use numpy::ndarray::Axis;
use numpy::{
    PyArray1, PyArrayDescrMethods, PyReadonlyArray1, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyMapping, PyString, PyTuple};

use peff::experiments::pipeline::Executor;
use peff::experiments::toy::report::{exact_rows, multi_init_rows, sample_rows_until, ExactRow};
use peff::experiments::toy::run::{dataset_count, ToyPass};
use peff::experiments::toy::settings::{ToySettings, ValidToy, DEFAULT_SAMPLES};
use peff::experiments::toy::{ToyRecord, ToyRun};
use peff::info::estimators::estimate_all_until;
use peff::info::masks::{check_size, MaskCounter, MaskError};
use peff::record::RunRecord;

mod args;
mod toy;
mod work;

use args::{read, refuse_unordered, unmasked, Arg, Int};
use work::{finished, guard, interruptible};

/// Most counts `entropy` accepts: 2^27 = 134217728, about what the CLI's 256 MiB counts file
/// holds.
const MAX_COUNTS: usize = 1 << 27;
/// Most values `noise_correlation` accepts per array (2^30).
const MAX_VALUES: usize = 1 << 30;

fn invalid(message: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(message.to_string())
}

/// The repr of a Python object for a message, cut to 60 characters.
fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let text = obj
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unprintable>".to_string());
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// A string as Python's `repr` writes it (single quotes).
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A shape as Python writes a tuple.
fn python_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let items: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", items.join(", "))
        }
    }
}

/// One estimator's estimate of the entropy, in bits, with its bootstrap basic interval.
///
/// Attributes: ``bits`` (the point estimate), ``ci_low`` and ``ci_high`` (the interval at the
/// requested confidence), ``sd`` (NSB's posterior standard deviation; ``None`` for the other
/// estimators).
///
/// >>> import peff
/// >>> nsb = peff.entropy([10, 5, 3, 1, 1], alphabet=20)["nsb"]
/// >>> round(nsb.bits, 4), round(nsb.sd, 4)
/// (2.1377, 0.3452)
/// >>> nsb.ci_low < nsb.bits < nsb.ci_high
/// True
/// >>> peff.entropy([10, 5, 3, 1, 1])["plugin"].sd is None
/// True
///
/// An ``Estimate`` is a value: ``Estimate(bits, ci_low, ci_high, sd=None)`` builds one, two
/// compare equal when their four fields do (``==``, ``!=``; ``hash`` agrees), and they pickle,
/// ``copy`` and ``deepcopy`` to equal ones.
///
/// >>> import pickle
/// >>> pickle.loads(pickle.dumps(nsb)) == nsb
/// True
/// >>> peff.Estimate(1.5, 1.0, 2.0) == peff.Estimate(1.5, 1.0, 2.0, sd=None)
/// True
#[pyclass(frozen, module = "peff", get_all)]
struct Estimate {
    bits: f64,
    ci_low: f64,
    ci_high: f64,
    sd: Option<f64>,
}

impl Estimate {
    /// The fields in the constructor's order.
    fn fields(&self) -> (f64, f64, f64, Option<f64>) {
        (self.bits, self.ci_low, self.ci_high, self.sd)
    }
}

#[pymethods]
impl Estimate {
    #[new]
    #[pyo3(signature = (bits, ci_low, ci_high, sd=None))]
    fn new(
        bits: Arg<f64>,
        ci_low: Arg<f64>,
        ci_high: Arg<f64>,
        sd: Option<Arg<f64>>,
    ) -> PyResult<Self> {
        Ok(Estimate {
            bits: bits.get("bits")?,
            ci_low: ci_low.get("ci_low")?,
            ci_high: ci_high.get("ci_high")?,
            sd: sd.map(|sd| sd.get("sd")).transpose()?,
        })
    }

    /// `(Estimate, (bits, ci_low, ci_high, sd))`: what `pickle` and `copy` rebuild it from.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (
        Bound<'py, pyo3::types::PyType>,
        (f64, f64, f64, Option<f64>),
    ) {
        (slf.get_type(), slf.get().fields())
    }

    /// Equal when every field is (NaN equals nothing); another type is `NotImplemented`.
    fn __eq__(&self, other: &Bound<'_, Self>) -> bool {
        self.fields() == other.get().fields()
    }

    /// The hash of the tuple of fields, so that equal estimates hash equal.
    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.fields().into_pyobject(py)?.hash()
    }

    fn __repr__(&self) -> String {
        let sd = self.sd.map_or(String::new(), |sd| format!(", sd={sd}"));
        format!(
            "Estimate(bits={}, ci_low={}, ci_high={}{sd})",
            self.bits, self.ci_low, self.ci_high
        )
    }
}

/// One count of a Python sequence, with the CLI's messages for a bad one.
fn count_item(i: usize, item: &Bound<'_, PyAny>) -> PyResult<u64> {
    let not_integer = || {
        invalid(format!(
            "counts[{i}]: not an integer count: {}",
            short_repr(item)
        ))
    };
    if item.is_instance_of::<PyBool>() {
        return Err(not_integer());
    }
    if let Ok(count) = item.extract::<u64>() {
        return Ok(count);
    }
    // Not a u64: say why, as the CLI does (negative, too large, or not an integer at all).
    let Ok(index) = item.py().import("operator")?.call_method1("index", (item,)) else {
        return Err(not_integer());
    };
    if index.lt(0)? {
        return Err(invalid(format!(
            "counts[{i}]: negative count {}",
            short_repr(&index)
        )));
    }
    Err(invalid(format!(
        "counts[{i}]: count too large for u64: {}",
        short_repr(&index)
    )))
}

/// The counts of `entropy`: a 1-D NumPy array of integers, or a sequence of integers (read
/// with the GIL held, so it checks for Ctrl-C every 2^16 items).
fn counts_from(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    if let Some(array) = unmasked(obj, "counts")? {
        if array.ndim() != 1 {
            return Err(invalid(format!(
                "counts must be a 1-D array, got shape {}",
                python_shape(array.shape())
            )));
        }
        if array.len() > MAX_COUNTS {
            return Err(invalid(format!(
                "counts has {} entries, above peff's limit of 2^27 = 134217728",
                array.len()
            )));
        }
        let kind = array.dtype().kind();
        if kind == b'b' {
            return Err(invalid(
                "counts must be integers, got an array of dtype bool (for masks, use peff.mask_counts)",
            ));
        }
        if kind == b'u' {
            // Unsigned integers widen to uint64 without loss (values above 2^63 included).
            let wide = obj.call_method1("astype", ("uint64",))?;
            let view: PyReadonlyArray1<'_, u64> = wide.extract()?;
            return Ok(view.as_array().to_vec());
        }
        if kind == b'i' {
            let wide = obj.call_method1("astype", ("int64",))?;
            let view: PyReadonlyArray1<'_, i64> = wide.extract()?;
            let values = view.as_array();
            if let Some((i, v)) = values.iter().enumerate().find(|(_, &v)| v < 0) {
                return Err(invalid(format!("counts[{i}]: negative count {v}")));
            }
            return Ok(values.iter().map(|&v| v as u64).collect());
        }
        // Floats, objects, strings: element by element, so the message names the first bad one.
    }
    refuse_unordered(obj, "counts")?;
    if obj.is_instance_of::<PyString>() || obj.cast::<PyMapping>().is_ok() {
        return Err(invalid(format!(
            "counts must be a 1-D array or a sequence of non-negative integers, got {}",
            obj.get_type().name()?
        )));
    }
    let Ok(length) = obj.len() else {
        return Err(invalid(format!(
            "counts must be a 1-D array or a sequence of non-negative integers, got {}",
            obj.get_type().name()?
        )));
    };
    if length > MAX_COUNTS {
        return Err(invalid(format!(
            "counts has {length} entries, above peff's limit of 2^27 = 134217728"
        )));
    }
    let mut counts = Vec::with_capacity(length);
    for (i, item) in obj.try_iter()?.enumerate() {
        if i % (1 << 16) == 0 {
            obj.py().check_signals()?;
        }
        counts.push(count_item(i, &item?)?);
    }
    Ok(counts)
}

/// Every entropy estimator on a vector of counts, in bits, each with its bootstrap interval.
///
/// ``counts`` is a 1-D array or a sequence of non-negative integers: how often each distinct
/// symbol (mask) was seen; zeros are ignored and the order does not matter. ``alphabet`` is the
/// number of possible symbols ``A`` that ``shrink`` and ``nsb`` assume (for masks: the number of
/// possible masks, e.g. ``peff.ceiling_bits``'s ``C(p, k)`` or ``2**p``); the default is the
/// number of observed symbols, as in ``peff entropy``. The interval is the bootstrap basic
/// interval from ``resamples`` seeded multinomial resamples at level ``confidence``
/// (``peff entropy --resamples --seed --confidence``; the values equal the CLI's).
///
/// Returns a dict from estimator name (``plugin``, ``miller_madow``, ``chao_shen``,
/// ``chao_wang_jost``, ``grassberger``, ``jackknife``, ``shrink``, ``nsb``) to ``Estimate``.
/// Raises ``ValueError`` for negative or non-integer counts, all-zero counts, an alphabet
/// smaller than the number of observed symbols, ``resamples`` outside [2, 1000000] or
/// ``confidence`` outside (0, 1), and for a bool, a masked array or a set. The estimators run
/// without the GIL, and Ctrl-C stops them (between bootstrap resamples).
///
/// >>> import peff
/// >>> est = peff.entropy([10, 5, 3, 1, 1], alphabet=20)
/// >>> list(est)
/// ['plugin', 'miller_madow', 'chao_shen', 'chao_wang_jost', 'grassberger', 'jackknife', 'shrink', 'nsb']
/// >>> round(est["plugin"].bits, 6), round(est["chao_shen"].bits, 6)
/// (1.842738, 2.087338)
///
/// Counts of a summary of the masks are counts like any other: a summary ``f(m)`` such as the
/// kept count per layer carries at most the mask's information (``I(f(m); D) ≤ I(m; D)``) and
/// has few values, so a few runs estimate it well (``peff stochastic --summaries``):
///
/// >>> import numpy as np
/// >>> per_layer = np.array([[9, 3], [9, 3], [8, 4], [9, 3]])  # kept per layer, one run a row
/// >>> _, counts = np.unique(per_layer, axis=0, return_counts=True)
/// >>> round(peff.entropy(counts)["plugin"].bits, 6)
/// 0.811278
/// >>> peff.entropy([3, -2])
/// Traceback (most recent call last):
/// ...
/// ValueError: counts[1]: negative count -2
#[pyfunction]
#[pyo3(
    signature = (counts, alphabet=None, resamples=Arg::int(1000), seed=Arg::int(0), confidence=Arg::of(0.95)),
    text_signature = "(counts, alphabet=None, resamples=1000, seed=0, confidence=0.95)"
)]
fn entropy<'py>(
    py: Python<'py>,
    counts: &Bound<'py, PyAny>,
    alphabet: Option<Arg<f64>>,
    resamples: Arg<Int>,
    seed: Arg<Int>,
    confidence: Arg<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    guard(|| {
        let alphabet = alphabet.map(|a| a.get("alphabet")).transpose()?;
        let (resamples, seed) = (resamples.get("resamples")?, seed.get("seed")?);
        let confidence = confidence.get("confidence")?;
        let seed = seed.in_range("seed", 0..=u64::MAX)?;
        // The checks and messages of `peff entropy`, which are the library's.
        let cfg =
            peff::settings::bootstrap(confidence, resamples.value(), seed).map_err(invalid)?;
        let counts = counts_from(counts)?;
        let observed = counts.iter().filter(|&&c| c > 0).count();
        let alphabet = peff::settings::alphabet_size(alphabet, observed).map_err(invalid)?;
        let estimates = interruptible(py, |stop| {
            estimate_all_until(&counts, alphabet, &cfg, stop).map_err(invalid)
        })?;
        let out = PyDict::new(py);
        for e in finished(estimates)? {
            let value = Estimate {
                bits: e.estimate_bits,
                ci_low: e.ci_low_bits,
                ci_high: e.ci_high_bits,
                sd: e.posterior_sd_bits,
            };
            out.set_item(e.estimator.name(), Py::new(py, value)?)?;
        }
        Ok(out)
    })
}

/// One mask entry of `mask_counts`: a NumPy array of dtype bool or uint8, read as bytes.
fn mask_array<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<PyReadonlyArrayDyn<'py, u8>> {
    let Some(array) = unmasked(obj, what)? else {
        return Err(invalid(format!(
            "{what} must be a NumPy array of dtype bool or uint8, got {} (for a torch tensor, pass .numpy())",
            obj.get_type().name()?
        )));
    };
    let dtype = array.dtype();
    if !matches!(dtype.kind(), b'b' | b'u') || dtype.itemsize() != 1 {
        let descr: String = dtype.getattr("str")?.extract()?;
        return Err(invalid(format!("{what}: {}", MaskError::Dtype { descr })));
    }
    // A bool array is read through a uint8 view (same bytes), so that every byte is checked
    // to be 0 or 1 and no invalid `bool` is ever formed.
    let bytes = if dtype.kind() == b'b' {
        obj.call_method1("view", ("uint8",))?
    } else {
        obj.clone()
    };
    bytes.extract()
}

fn mask_error(e: MaskError) -> PyErr {
    invalid(e)
}

/// The counts of distinct masks, ready for ``peff.entropy``.
///
/// ``masks`` is either
///
/// - an ``(N, p)`` NumPy array of dtype bool or uint8, one mask per row; or
/// - a sequence of ``N`` dicts ``{name: array}`` (e.g. the mask entries of ``N`` PyTorch
///   ``state_dict``\ s, as NumPy arrays of dtype bool or uint8 of any shape). Each dict is one
///   mask: its arrays are flattened in C order and concatenated **in sorted key order** (so
///   the order in which the dicts were built does not matter). Every dict must have the same
///   keys, and each key the same shape, as the first.
///
/// Entries must be 0 or 1. Arrays need not be C-contiguous (strided views are read in place).
/// Returns a 1-D uint64 array: the number of times each distinct mask occurs, in order of first
/// appearance (so it sums to ``N``). Raises ``ValueError`` for another dtype, another shape, an
/// entry other than 0 or 1, no masks, or more than 2^32 entries in all (checked before any
/// copy), and for a masked array or a set of dicts. The masks are counted without the GIL, and
/// Ctrl-C stops the count.
///
/// >>> import numpy as np, peff
/// >>> m = np.array([[1, 0, 1], [0, 1, 1], [1, 0, 1]], dtype=bool)
/// >>> peff.mask_counts(m)
/// array([2, 1], dtype=uint64)
/// >>> dicts = [{"b": np.ones(2, np.uint8), "a": np.eye(2, dtype=bool)} for _ in range(3)]
/// >>> peff.mask_counts(dicts)
/// array([3], dtype=uint64)
/// >>> peff.mask_counts(np.zeros((2, 3), dtype=np.float32))
/// Traceback (most recent call last):
/// ...
/// ValueError: masks: dtype '<f4' is not a mask dtype: expected '|b1' (bool) or '|u1' (uint8)
#[pyfunction]
fn mask_counts<'py>(
    py: Python<'py>,
    masks: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    guard(|| {
        let counts = if masks.cast::<PyUntypedArray>().is_ok() {
            counts_of_matrix(py, masks)?
        } else {
            counts_of_dicts(py, masks)?
        };
        Ok(PyArray1::from_vec(py, counts))
    })
}

fn counts_of_matrix(py: Python<'_>, masks: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    let array = mask_array(masks, "masks")?;
    let shape = array.shape().to_vec();
    let [rows, entries] = shape[..] else {
        return Err(invalid(format!(
            "masks: {}",
            MaskError::Shape {
                shape: python_shape(&shape)
            }
        )));
    };
    check_size(rows as u64, entries as u64).map_err(mask_error)?;
    let view = array.as_array();
    let counts = interruptible(py, |stop| {
        let mut counter = MaskCounter::new(entries);
        let mut buffer = Vec::new();
        for row in view.axis_iter(Axis(0)) {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let row_slice = match row.as_slice() {
                Some(s) => s,
                None => {
                    buffer.clear();
                    buffer.extend(row.iter().copied());
                    &buffer[..]
                }
            };
            counter.add(row_slice).map_err(mask_error)?;
        }
        counter.counts().map(Some).map_err(mask_error)
    })?;
    finished(counts)
}

fn counts_of_dicts(py: Python<'_>, masks: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    let not_masks = || -> PyResult<PyErr> {
        Ok(invalid(format!(
            "masks must be an (N, p) NumPy array of dtype bool or uint8, or a sequence of {{name: array}} dicts; got {}",
            masks.get_type().name()?
        )))
    };
    refuse_unordered(masks, "masks")?;
    if masks.is_instance_of::<PyString>() || masks.cast::<PyMapping>().is_ok() {
        return Err(not_masks()?);
    }
    let Ok(rows) = masks.len() else {
        return Err(not_masks()?);
    };
    if rows == 0 {
        return Err(mask_error(MaskError::NoMasks));
    }
    // Every array of every mask, read-only borrowed, key by key in sorted order.
    let mut arrays: Vec<Vec<PyReadonlyArrayDyn<'_, u8>>> = Vec::with_capacity(rows);
    let mut keys: Vec<String> = Vec::new();
    let mut shapes: Vec<Vec<usize>> = Vec::new();
    for (r, item) in masks.try_iter()?.enumerate() {
        let item = item?;
        let Ok(dict) = item.cast::<PyDict>() else {
            return Err(invalid(format!(
                "masks[{r}] must be a dict {{name: array}}, got {}",
                item.get_type().name()?
            )));
        };
        let mut entries: Vec<(String, Bound<'_, PyAny>)> = Vec::with_capacity(dict.len());
        for (key, value) in dict.iter() {
            let Ok(key) = key.extract::<String>() else {
                return Err(invalid(format!(
                    "masks[{r}]: keys must be strings, got {}",
                    short_repr(&key)
                )));
            };
            entries.push((key, value));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if r == 0 {
            if entries.is_empty() {
                return Err(invalid("masks[0] is an empty dict"));
            }
            keys = entries.iter().map(|(k, _)| k.clone()).collect();
        } else {
            let these: Vec<&String> = entries.iter().map(|(k, _)| k).collect();
            if let Some(extra) = these.iter().find(|k| !keys.contains(k)) {
                return Err(invalid(format!(
                    "masks[{r}] has key {}, which masks[0] does not have",
                    quoted(extra)
                )));
            }
            if let Some(missing) = keys.iter().find(|k| !these.contains(k)) {
                return Err(invalid(format!(
                    "masks[{r}] lacks key {} of masks[0]",
                    quoted(missing)
                )));
            }
        }
        let mut row = Vec::with_capacity(entries.len());
        for (j, (key, value)) in entries.iter().enumerate() {
            let array = mask_array(value, &format!("masks[{r}][{}]", quoted(key)))?;
            if r == 0 {
                shapes.push(array.shape().to_vec());
                if j + 1 == entries.len() {
                    // Saturating: a sum of huge (broadcast) shapes is refused, never wrapped.
                    let total = shapes
                        .iter()
                        .map(|s| s.iter().fold(1u64, |acc, &d| acc.saturating_mul(d as u64)))
                        .fold(0u64, u64::saturating_add);
                    check_size(rows as u64, total).map_err(mask_error)?;
                }
            } else if array.shape() != shapes[j] {
                return Err(invalid(format!(
                    "masks[{r}][{}] has shape {}, masks[0][{}] has shape {}",
                    quoted(key),
                    python_shape(array.shape()),
                    quoted(key),
                    python_shape(&shapes[j])
                )));
            }
            row.push(array);
        }
        arrays.push(row);
    }
    let views: Vec<Vec<_>> = arrays
        .iter()
        .map(|row| row.iter().map(|a| a.as_array()).collect())
        .collect();
    let entries: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    let counts = interruptible(py, |stop| {
        let mut counter = MaskCounter::new(entries);
        let mut owned: Vec<Vec<u8>> = Vec::new();
        for row in &views {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            owned.clear();
            // Strided arrays are copied (C order); contiguous ones are read in place.
            let mut parts: Vec<&[u8]> = Vec::with_capacity(row.len());
            for view in row {
                if view.as_slice().is_none() {
                    owned.push(view.iter().copied().collect());
                }
            }
            let mut copies = owned.iter();
            for view in row {
                match view.as_slice() {
                    Some(s) => parts.push(s),
                    None => parts.push(copies.next().expect("one copy per strided array")),
                }
            }
            counter.add_parts(&parts).map_err(mask_error)?;
        }
        counter.counts().map(Some).map_err(mask_error)
    })?;
    finished(counts)
}

/// What a toy flag takes from Python (the types of `python/peff/__init__.pyi`).
#[derive(Clone, Copy)]
enum Takes {
    /// An int or a NumPy integer.
    Int,
    /// A real number: an int, a float or a NumPy scalar.
    Real,
    /// A str.
    Name,
    /// A str or an `os.PathLike`.
    Path,
}

/// A toy flag: its Python name, what it takes, and whether it also takes a list (or tuple).
type ToyFlag = (&'static str, Takes, bool);

/// The toy flags `exact` accepts (every flag of `peff exact` that does not write files or
/// select a shard).
const TOY_FLAGS: &[ToyFlag] = &[
    ("task", Takes::Name, false),
    ("n", Takes::Int, false),
    ("input_dim", Takes::Int, false),
    ("hidden", Takes::Int, false),
    ("steps", Takes::Int, false),
    ("lr", Takes::Real, false),
    ("imp_rate", Takes::Real, false),
    ("grasp_temperature", Takes::Real, false),
    ("synflow_rounds", Takes::Int, false),
    ("methods", Takes::Name, true),
    ("k", Takes::Int, true),
    ("sparsity", Takes::Real, true),
    ("init_seed", Takes::Int, false),
    ("init", Takes::Path, false),
    ("inits", Takes::Int, false),
    ("random_seed", Takes::Int, false),
    ("threads", Takes::Int, false),
    ("max_datasets", Takes::Int, false),
];

/// The flags `sample` takes besides `TOY_FLAGS` (less `inits` and `max_datasets`).
const SAMPLE_FLAGS: &[ToyFlag] = &[("samples", Takes::Int, false), ("seed", Takes::Int, false)];

/// One value of `flag` as the command line's text, or a `ValueError` naming the flag.
fn flag_value(v: &Bound<'_, PyAny>, flag: &str, takes: Takes) -> PyResult<String> {
    let py = v.py();
    let name = format!("`{flag}`");
    Ok(match takes {
        Takes::Int => {
            read::<Int>(v, &name)?;
            let index = py.import("operator")?.call_method1("index", (v,))?;
            index.str()?.to_string()
        }
        Takes::Real => PyFloat::new(py, read::<f64>(v, &name)?).repr()?.to_string(),
        Takes::Name => read::<String>(v, &name)?,
        Takes::Path => {
            let os = py.import("os")?;
            let path = if v.is_instance(&os.getattr("PathLike")?)? {
                os.call_method1("fspath", (v,))?
            } else {
                v.clone()
            };
            match path.cast::<PyString>() {
                Ok(path) => path.to_cow()?.into_owned(),
                Err(_) => {
                    return Err(invalid(format!(
                        "{name} must be a str or a path (os.PathLike), got {}",
                        short_repr(v)
                    )))
                }
            }
        }
    })
}

/// The toy settings (and, for `sample`, its `samples` and `seed`) from keyword arguments
/// (`None`: the flag's default), each value read as its flag takes it; a list or tuple, where
/// the flag takes one, becomes the flag's comma list. The library validates them
/// ([`ToySettings::validate`]), with the command line's messages.
fn toy_settings(
    function: &str,
    config: Option<&Bound<'_, PyDict>>,
    flags: &[ToyFlag],
) -> PyResult<(ToySettings, (i64, u64))> {
    let mut settings = ToySettings::default();
    let mut sampling = (DEFAULT_SAMPLES, 0u64);
    let Some(config) = config else {
        return Ok((settings, sampling));
    };
    for (key, value) in config.iter() {
        let key: String = key.extract()?;
        let Some(&(_, takes, list)) = flags.iter().find(|f| f.0 == key) else {
            return Err(PyTypeError::new_err(format!(
                "{function}() got an unexpected keyword argument '{key}'"
            )));
        };
        if value.is_none() {
            continue;
        }
        let flag = format!("--{}", key.replace('_', "-"));
        let name = format!("`{flag}`");
        let is_list = value.cast::<PyList>().is_ok() || value.is_instance_of::<PyTuple>();
        let text = || -> PyResult<String> {
            if list && is_list {
                Ok(value
                    .try_iter()?
                    .map(|v| flag_value(&v?, &flag, takes))
                    .collect::<PyResult<Vec<String>>>()?
                    .join(","))
            } else if is_list {
                Err(invalid(format!(
                    "`{flag}` takes one value, got {}",
                    short_repr(&value)
                )))
            } else {
                if list {
                    refuse_unordered(&value, &name)?;
                }
                flag_value(&value, &flag, takes)
            }
        };
        let int = || read::<Int>(&value, &name)?.to_i64(&name);
        let seed = || read::<Int>(&value, &name)?.in_range(&name, 0..=u64::MAX);
        let real = || read::<f64>(&value, &name);
        match key.as_str() {
            "task" => settings.task = text()?,
            "n" => settings.n = int()?,
            "input_dim" => settings.input_dim = Some(int()?),
            "hidden" => settings.hidden = Some(int()?),
            "steps" => settings.steps = int()?,
            "lr" => settings.lr = real()?,
            "imp_rate" => settings.prune.imp_rate = real()?,
            "grasp_temperature" => settings.prune.grasp_temperature = Some(real()?),
            "synflow_rounds" => settings.prune.synflow_rounds = int()?,
            "methods" => settings.prune.methods = text()?,
            "k" => settings.k = Some(text()?),
            "sparsity" => settings.sparsity = Some(text()?),
            "init_seed" => settings.init_seed = seed()?,
            "init" => settings.init = Some(PathBuf::from(text()?)),
            "inits" => settings.inits = Some(int()?),
            "random_seed" => settings.random_seed = seed()?,
            "threads" => settings.threads = int()?,
            "max_datasets" => settings.max_datasets = Some(int()?),
            "samples" => sampling.0 = int()?,
            "seed" => sampling.1 = seed()?,
            other => unreachable!("a toy flag without a setting: {other}"),
        }
    }
    Ok((settings, sampling))
}

/// The rows `peff exact`/`peff sample` print for `args` (no files written), as JSON values;
/// `None` when `stop` ended the run (checked between windows of 8192 datasets, as the CLI's
/// Ctrl-C is, and between the bootstrap resamples of `sample`'s estimates).
fn toy_rows(
    run: &ValidToy,
    sampling: Option<(u64, u64)>,
    stop: &AtomicBool,
) -> anyhow::Result<Option<serde_json::Value>> {
    let whole = ToyRun {
        experiment: run.experiment.clone(),
        init_seeds: run.init_seeds.clone(),
        samples: sampling.map(|s| s.0),
        sample_seed: sampling.map(|s| s.1),
    };
    let inits = whole.inits();
    let record_for = |seed: Option<u64>| ToyRecord {
        command: whole.command().to_string(),
        config: whole.for_init(seed),
        shard: None,
    };
    let first: RunRecord<ToyRun> = record_for(inits[0]);
    let total = match dataset_count(&first) {
        Some(t) if sampling.is_some() || t <= run.max_datasets as u128 => t as u64,
        count => anyhow::bail!(
            "enumeration has {} datasets (multisets), more than `--max-datasets` {}; use `peff sample`, or raise `--max-datasets`",
            count.map_or("more than 2^128".to_string(), |c| c.to_string()),
            run.max_datasets
        ),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(run.threads)
        .build()?;
    let mut per_init = Vec::with_capacity(inits.len());
    for &seed in &inits {
        let record = record_for(seed);
        let pass = ToyPass {
            record: &record,
            range: 0..total,
        };
        let Some(finished) = pool.install(|| Executor::new(&pass).stop_on(stop).run())? else {
            return Ok(None);
        };
        let tallies = finished.output;
        per_init.push((record.config, tallies));
    }
    if let Some(samples) = whole.samples {
        let (config, tallies) = &per_init[0];
        let rows =
            pool.install(|| sample_rows_until(&config.experiment, tallies, samples, stop))?;
        return rows
            .map(serde_json::to_value)
            .transpose()
            .map_err(Into::into);
    }
    let mut tables: Vec<(u64, Vec<ExactRow>)> = per_init
        .iter()
        .map(|(config, tallies)| {
            (
                config.experiment.init_seed.unwrap_or(0),
                exact_rows(&config.experiment, tallies),
            )
        })
        .collect();
    let rows = if tables.len() == 1 {
        serde_json::to_value(tables.remove(0).1)?
    } else {
        serde_json::to_value(multi_init_rows(&tables))?
    };
    Ok(Some(rows))
}

/// A JSON value as the Python object of the same meaning (`null` → `None`).
fn to_python<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.into_pyobject(py)?.into_any(),
            (None, Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, None, Some(f)) => PyFloat::new(py, f).into_any(),
            _ => return Err(PyRuntimeError::new_err("a number outside f64")),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(fields) => {
            let dict = PyDict::new(py);
            for (key, item) in fields {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// The rows of `peff exact` (`sampling` `None`) or `peff sample` for `settings`.
fn run_toy<'py>(
    py: Python<'py>,
    settings: &ToySettings,
    sampling: Option<(i64, u64)>,
) -> PyResult<Bound<'py, PyAny>> {
    // In `peff sample`'s order: its own settings, then the toy's.
    let sampling = sampling
        .map(|(samples, seed)| peff::experiments::toy::settings::sampling(samples, seed))
        .transpose()
        .map_err(|e| invalid(format!("{e:#}")))?;
    let run = settings.validate().map_err(|e| invalid(format!("{e:#}")))?;
    let rows = interruptible(py, |stop| {
        toy_rows(&run, sampling, stop).map_err(|e| invalid(format!("{e:#}")))
    })?;
    to_python(py, &finished(rows)?)
}

/// The exact table of ``peff exact``: one dict per row, with the CLI's column names and values.
///
/// Keyword arguments are ``peff exact``'s flags with ``-`` → ``_`` (``task``, ``n``,
/// ``input_dim``, ``hidden``, ``steps``, ``lr``, ``imp_rate``, ``grasp_temperature``,
/// ``synflow_rounds``, ``methods``, ``k``, ``sparsity``, ``init_seed``, ``init``, ``inits``,
/// ``random_seed``, ``threads``, ``max_datasets``) with the same defaults; lists (``k``,
/// ``sparsity``, ``methods``) may be Python lists. The rows equal those of
/// ``peff exact --format csv`` for the same flags (empty cells are ``None``); nothing is
/// written to disk. Raises ``ValueError`` with the CLI's message for an invalid value (and for
/// a bool, a set, or another type than a str, a number or a path) and ``TypeError`` for an
/// unknown keyword. The networks train without the GIL (the default configuration takes
/// seconds), and Ctrl-C stops them (after the current window of 8192 datasets).
///
/// >>> import peff
/// >>> rows = peff.exact(n=2, steps=20, methods="magnitude", k=[10, 5], threads=1)
/// >>> [(r["method"], r["k"], r["distinct_masks"]) for r in rows]
/// [('magnitude', 10, 80), ('magnitude', 5, 58)]
/// >>> round(rows[0]["ceiling_bits"], 4)
/// 18.4281
/// >>> peff.exact(n=40)
/// Traceback (most recent call last):
/// ...
/// ValueError: `--n` must be in [1, 30], got 40
#[pyfunction]
#[pyo3(signature = (**config))]
fn exact<'py>(py: Python<'py>, config: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let (settings, _) = toy_settings("exact", config, TOY_FLAGS)?;
        run_toy(py, &settings, None)
    })
}

/// The sampled table of ``peff sample``: one dict per (method, k, estimator) row, with the CLI's
/// column names and values.
///
/// Keyword arguments are ``peff sample``'s flags with ``-`` → ``_``: those of ``peff.exact``
/// except ``inits`` and ``max_datasets``, plus ``samples`` (default 32000) and ``seed``
/// (default 0). The rows equal those of ``peff sample --format csv`` for the same flags.
/// Raises ``ValueError``/``TypeError`` as ``peff.exact`` does. The networks train without the
/// GIL, and Ctrl-C stops them (after the current window of 8192 datasets) or the estimators
/// that follow.
///
/// >>> import peff
/// >>> rows = peff.sample(n=2, steps=20, methods="magnitude", k=10, samples=50, threads=1)
/// >>> [r["estimator"] for r in rows][:3]
/// ['plugin', 'miller_madow', 'chao_shen']
/// >>> {r["samples"] for r in rows}
/// {50}
#[pyfunction]
#[pyo3(signature = (**config))]
fn sample<'py>(
    py: Python<'py>,
    config: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let flags: Vec<ToyFlag> = TOY_FLAGS
            .iter()
            .filter(|f| !matches!(f.0, "inits" | "max_datasets"))
            .chain(SAMPLE_FLAGS)
            .copied()
            .collect();
        let (settings, sampling) = toy_settings("sample", config, &flags)?;
        run_toy(py, &settings, Some(sampling))
    })
}

/// Theorem 5.6 of the paper: a lower bound on the Lipschitz constant of a memorising sparse
/// network, with its effective parameter count (``peff bound``; base-2 logarithms).
///
/// ``Lip(f) ≥ ε / (96 a1 √(2c)) · √(n d δ / (p_eff + (δ/2) log2(4/δ)))``, ``a1² = 72``,
/// ``p_eff = mi + k · log2(1 + 60 w j / ε)``. Arguments are keyword-only and named as the flags
/// of ``peff bound``: ``n`` samples in dimension ``d``, excess fit ``epsilon`` and failure
/// probability ``delta`` in (0, 1), isoperimetry constant ``c`` (default 1), parameter-set
/// diameter ``w``, parameter Lipschitz constant ``j``, mask information ``mi`` (bits) and kept
/// count ``k``. Returns ``{"p_eff": ..., "lipschitz_lower_bound": ...}`` as ``peff bound``
/// prints it; raises ``ValueError`` with the CLI's message for a value out of range.
///
/// >>> import peff
/// >>> b = peff.bound(n=1000, d=50, epsilon=0.5, delta=0.5, w=1, j=1, mi=3, k=1)
/// >>> round(b["p_eff"], 6), round(b["lipschitz_lower_bound"], 6)
/// (9.918863, 0.02101)
#[pyfunction]
#[pyo3(
    signature = (*, n, d, epsilon, delta, w, j, mi, k, c=Arg::of(1.0)),
    text_signature = "(*, n, d, epsilon, delta, w, j, mi, k, c=1.0)"
)]
#[allow(clippy::too_many_arguments)] // the flags of `peff bound`, one argument each
fn bound<'py>(
    py: Python<'py>,
    n: Arg<f64>,
    d: Arg<f64>,
    epsilon: Arg<f64>,
    delta: Arg<f64>,
    w: Arg<f64>,
    j: Arg<f64>,
    mi: Arg<f64>,
    k: Arg<f64>,
    c: Arg<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    guard(|| {
        let inputs = peff::info::bound::BoundInputs {
            n: n.get("n")?,
            d: d.get("d")?,
            epsilon: epsilon.get("epsilon")?,
            delta: delta.get("delta")?,
            c: c.get("c")?,
            w: w.get("w")?,
            j: j.get("j")?,
            mi: mi.get("mi")?,
            k: k.get("k")?,
        };
        let b = inputs.evaluate().map_err(|e| invalid(format!("{e:#}")))?;
        let out = PyDict::new(py);
        out.set_item("p_eff", b.p_eff)?;
        out.set_item("lipschitz_lower_bound", b.lipschitz_lower_bound)?;
        Ok(out)
    })
}

/// The ceiling ``log2 C(p, k)`` in bits: the most information a mask keeping ``k`` of ``p``
/// weights can carry (the ``ceiling_bits`` column of ``peff exact``; ``C(p, k)`` is also the
/// natural ``alphabet`` of ``peff.entropy`` for such masks). Exact below 2^53 masks, from
/// log-gamma beyond. Raises ``ValueError`` unless ``0 ≤ k ≤ p``.
///
/// >>> import peff
/// >>> round(peff.ceiling_bits(21, 10), 4)
/// 18.4281
/// >>> 2 ** peff.ceiling_bits(4, 2)
/// 6.0
#[pyfunction]
fn ceiling_bits(p: Arg<Int>, k: Arg<Int>) -> PyResult<f64> {
    guard(|| {
        let (p, k) = (p.get("p")?, k.get("k")?);
        let p: usize = p
            .within(0..=usize::MAX)
            .map_err(|got| invalid(format!("p must be ≥ 0, got {got}")))?;
        let k = k
            .within(0..=p)
            .map_err(|got| invalid(format!("k must be in [0, p] = [0, {p}], got {got}")))?;
        Ok(peff::data::log2_binomial(p, k))
    })
}

/// A 1-D float array of `noise_correlation`, every value finite.
fn floats_from(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<f64>> {
    let values: Vec<f64> = if let Some(array) = unmasked(obj, name)? {
        if array.ndim() != 1 {
            return Err(invalid(format!(
                "{name} must be 1-D, got shape {}",
                python_shape(array.shape())
            )));
        }
        if array.len() > MAX_VALUES {
            return Err(invalid(format!(
                "{name} has {} values, above peff's limit of 2^30 = 1073741824",
                array.len()
            )));
        }
        if !matches!(array.dtype().kind(), b'f' | b'i' | b'u') {
            let descr: String = array.dtype().getattr("str")?.extract()?;
            return Err(invalid(format!(
                "{name} must hold real numbers, got dtype '{descr}'"
            )));
        }
        let wide = obj.call_method1("astype", ("float64",))?;
        let view: PyReadonlyArray1<'_, f64> = wide.extract()?;
        view.as_array().to_vec()
    } else {
        refuse_unordered(obj, name)?;
        match obj.len() {
            Ok(len) if len > MAX_VALUES => {
                return Err(invalid(format!(
                    "{name} has {len} values, above peff's limit of 2^30 = 1073741824"
                )))
            }
            _ => {}
        }
        obj.extract().map_err(|_| {
            invalid(format!(
                "{name} must be a 1-D array or a sequence of numbers, got {}",
                short_repr(obj)
            ))
        })?
    };
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(invalid(format!("{name}[{i}] is not finite: {v}")));
    }
    Ok(values)
}

/// The noise-correlation proxy of Figure 1(d–f) (``peff noise-corr``):
/// ``C = (1/n) Σ_i (f(x_i) − E_μ f) z_i``.
///
/// ``f_train`` holds the network's outputs ``f(x_i)`` on its ``n`` training points,
/// ``f_mu_mean`` the mean output ``E_μ f`` over fresh inputs from the data distribution, and
/// ``z`` the label noise ``z_i`` of the training points. Raises ``ValueError`` when ``f_train``
/// and ``z`` differ in length, are empty, hold a value that is not finite, or are a masked
/// array or a set.
///
/// ``C`` is a mean of products, not a normalised correlation: nothing is divided by a variance,
/// so constant noise, constant outputs or a single point give the formula's finite value. For
/// finite inputs the only way to a non-finite value is float64 overflow (a product
/// ``f(x_i) z_i``, ``E_μ f · z̄`` or a sum beyond 1.8e308, where ``∞ − ∞`` or ``0 · ∞`` is NaN);
/// then ``ValueError`` says so instead of returning ``inf`` or ``NaN``.
///
/// >>> import peff
/// >>> peff.noise_correlation([1.0, 2.0, 3.0], 2.0, [1.0, 0.0, -1.0])
/// -0.6666666666666666
/// >>> peff.noise_correlation([1.0, 2.0], 0.0, [1.0])
/// Traceback (most recent call last):
/// ...
/// ValueError: f_train has 2 values and z has 1; they must have one value per training point
#[pyfunction]
fn noise_correlation(
    f_train: &Bound<'_, PyAny>,
    f_mu_mean: Arg<f64>,
    z: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    guard(|| {
        let f_mu_mean = f_mu_mean.get("f_mu_mean")?;
        let f = floats_from(f_train, "f_train")?;
        let z = floats_from(z, "z")?;
        if f.len() != z.len() {
            return Err(invalid(format!(
                "f_train has {} values and z has {}; they must have one value per training point",
                f.len(),
                z.len()
            )));
        }
        if f.is_empty() {
            return Err(invalid("f_train and z are empty"));
        }
        if !f_mu_mean.is_finite() {
            return Err(invalid(format!("f_mu_mean is not finite: {f_mu_mean}")));
        }
        let c = peff::experiments::noise_corr::correlation(&f, &z, &[f_mu_mean]);
        if !c.is_finite() {
            return Err(invalid(format!(
                "noise_correlation overflows float64 (got {c}): a product f_train[i]·z[i], f_mu_mean·mean(z) or a sum of them exceeds 1.8e308; rescale f_train, f_mu_mean and z"
            )));
        }
        Ok(c)
    })
}

/// peff: how much information a pruning mask carries about its training data, in bits.
#[pymodule]
fn _peff(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Estimate>()?;
    m.add_function(wrap_pyfunction!(entropy, m)?)?;
    m.add_function(wrap_pyfunction!(mask_counts, m)?)?;
    m.add_function(wrap_pyfunction!(exact, m)?)?;
    m.add_function(wrap_pyfunction!(sample, m)?)?;
    m.add_function(wrap_pyfunction!(bound, m)?)?;
    m.add_function(wrap_pyfunction!(ceiling_bits, m)?)?;
    m.add_function(wrap_pyfunction!(noise_correlation, m)?)?;
    toy::register(m)
}
