//! Arguments as Python passed them, checked in the function's body so that every refusal is a
//! one-line `ValueError` that names the argument (PyO3's own extraction would raise a
//! `TypeError` or an `OverflowError` without the name, and would take `True` for the integer 1).
//!
//! ```text
//! Arg<Int>     an int or a NumPy integer, never a bool   (range checked by the function)
//! Arg<f64>     a real number (int, float, NumPy scalar), never a bool, finite or not
//! Arg<bool>    True or False (or a NumPy bool), nothing else
//! Arg<String>  a str
//! ```
//!
//! An `Arg` is extracted from any object (the extraction never fails); [`Arg::get`] returns the
//! value or the refusal ([`read`] does the same for an object at hand, such as a list's item).
//! Defaults are written `Arg::of(value)` (`Arg::int(value)` for an `Int`), so each function that
//! has one spells its signature out in `text_signature` (PyO3 writes `...` for such defaults).
//! [`unmasked`] and [`refuse_unordered`] refuse the containers whose meaning peff would lose: a
//! masked array (its mask) and a set (its order).

use std::fmt::Display;
use std::ops::RangeInclusive;

use numpy::PyUntypedArray;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyFrozenSet, PySet, PyString};

use crate::{invalid, short_repr};

/// An argument as passed: its value, or what is wrong with it (raised by [`Arg::get`]).
pub struct Arg<T>(Result<T, String>);

impl<T> Arg<T> {
    /// A default value.
    pub fn of(value: impl Into<T>) -> Self {
        Arg(Ok(value.into()))
    }

    /// The value, or a `ValueError` "`name` must be …, got …".
    pub fn get(self, name: &str) -> PyResult<T> {
        self.0.map_err(|why| refusal(name, why))
    }
}

fn refusal(name: &str, why: String) -> PyErr {
    invalid(format!("{name} {why}"))
}

/// `obj` read as a `T` for the argument `name` (the check of `Arg<T>` on an object at hand,
/// such as one item of a list).
pub fn read<T: Read>(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<T> {
    T::read(obj)?.map_err(|why| refusal(name, why))
}

/// How an `Arg<Self>` reads a Python object: the value, or the refusal after the argument's
/// name (an `Err` only for a failure of Python itself).
pub trait Read: Sized {
    /// `obj` as a `Self`, or why it is not one.
    fn read(obj: &Bound<'_, PyAny>) -> PyResult<Result<Self, String>>;
}

impl<'a, 'py, T: Read> FromPyObject<'a, 'py> for Arg<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        T::read(&obj).map(Arg)
    }
}

/// Whether `obj` is a Python or NumPy bool.
fn is_bool(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(obj.is_instance_of::<PyBool>()
        || obj.is_instance(&obj.py().import("numpy")?.getattr("bool_")?)?)
}

/// An integer argument: its value (saturated to the range of `i128`, which holds every range
/// peff checks) and the integer as Python writes it, for messages.
pub struct Int {
    value: i128,
    text: String,
}

impl Arg<Int> {
    /// A default integer.
    pub fn int(value: i64) -> Self {
        Arg(Ok(Int {
            value: value.into(),
            text: value.to_string(),
        }))
    }
}

impl Int {
    /// The value, for a check that peff itself makes on the whole integer range.
    pub fn value(&self) -> i128 {
        self.value
    }

    /// The value as `T` when it lies in `range`, else `Err` with the integer as Python writes it.
    pub fn within<T>(&self, range: RangeInclusive<T>) -> Result<T, &str>
    where
        T: Copy + TryInto<i128> + TryFrom<i128>,
    {
        let (lo, hi) = ((*range.start()).try_into(), (*range.end()).try_into());
        match (lo, hi) {
            (Ok(lo), Ok(hi)) if (lo..=hi).contains(&self.value) => {
                T::try_from(self.value).map_err(|_| self.text.as_str())
            }
            _ => Err(self.text.as_str()),
        }
    }

    /// The value as `T` when it lies in `range`, else a `ValueError`
    /// "`name` must be in [lo, hi], got …".
    pub fn in_range<T>(&self, name: &str, range: RangeInclusive<T>) -> PyResult<T>
    where
        T: Copy + TryInto<i128> + TryFrom<i128> + Display,
    {
        let (lo, hi) = (*range.start(), *range.end());
        self.within(range)
            .map_err(|got| invalid(format!("{name} must be in [{lo}, {hi}], got {got}")))
    }

    /// The value as an `i64` for a check made by peff itself, else a `ValueError`.
    pub fn to_i64(&self, name: &str) -> PyResult<i64> {
        self.within(i64::MIN..=i64::MAX)
            .map_err(|got| invalid(format!("{name} is out of range, got {got}")))
    }
}

impl Read for Int {
    fn read(obj: &Bound<'_, PyAny>) -> PyResult<Result<Self, String>> {
        if is_bool(obj)? {
            return Ok(Err(format!(
                "must be an integer, not a bool: {}",
                short_repr(obj)
            )));
        }
        let Ok(index) = obj.py().import("operator")?.call_method1("index", (obj,)) else {
            return Ok(Err(format!("must be an integer, got {}", short_repr(obj))));
        };
        let value = match index.extract::<i128>() {
            Ok(v) => v,
            Err(_) if index.lt(0)? => i128::MIN,
            Err(_) => i128::MAX,
        };
        Ok(Ok(Int {
            value,
            text: short_repr(&index),
        }))
    }
}

impl Read for f64 {
    fn read(obj: &Bound<'_, PyAny>) -> PyResult<Result<Self, String>> {
        if is_bool(obj)? {
            return Ok(Err(format!(
                "must be a real number, not a bool: {}",
                short_repr(obj)
            )));
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(Ok(f.value()));
        }
        // An int, a NumPy scalar or anything else with `__index__` or `__float__`.
        Ok(match obj.extract::<f64>() {
            Ok(v) => Ok(v),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                Err(format!("is too large for a float: {}", short_repr(obj)))
            }
            Err(_) => Err(format!("must be a real number, got {}", short_repr(obj))),
        })
    }
}

impl Read for bool {
    fn read(obj: &Bound<'_, PyAny>) -> PyResult<Result<Self, String>> {
        if !is_bool(obj)? {
            return Ok(Err(format!(
                "must be True or False, got {}",
                short_repr(obj)
            )));
        }
        Ok(Ok(obj.is_truthy()?))
    }
}

impl Read for String {
    fn read(obj: &Bound<'_, PyAny>) -> PyResult<Result<Self, String>> {
        match obj.cast::<PyString>() {
            Ok(s) => Ok(Ok(s.to_cow()?.into_owned())),
            Err(_) => Ok(Err(format!("must be a string, got {}", short_repr(obj)))),
        }
    }
}

/// `obj` as a NumPy array (`None` when it is not one), refusing a masked array: peff reads an
/// array's data, so a mask would be silently ignored.
pub fn unmasked<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Option<&'a Bound<'py, PyUntypedArray>>> {
    let Ok(array) = obj.cast::<PyUntypedArray>() else {
        return Ok(None);
    };
    if obj.is_instance(&obj.py().import("numpy.ma")?.getattr("MaskedArray")?)? {
        return Err(invalid(format!(
            "{name} is a masked array (numpy.ma), whose mask peff would ignore: pass a plain array, e.g. {name}.filled(...) or {name}.compressed()"
        )));
    }
    Ok(Some(array))
}

/// Refuses a set (a `set`, a `frozenset`, or any other `collections.abc.Set`, such as
/// `dict.keys()`) where a sequence is expected: its order is arbitrary, and a set of counts or
/// values has lost its repeats.
pub fn refuse_unordered(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<()> {
    let py = obj.py();
    if obj.is_instance_of::<PySet>()
        || obj.is_instance_of::<PyFrozenSet>()
        || obj.is_instance(&py.import("collections.abc")?.getattr("Set")?)?
    {
        return Err(invalid(format!(
            "{name} is a {}, whose order is arbitrary: pass a list, a tuple or an array",
            obj.get_type().name()?
        )));
    }
    Ok(())
}
