//! Training data as every network sees it: a [`Dataset`] of `n` points (inputs point-major,
//! `d = Model::input_len()` values per point, with regression values or class labels), and the
//! [`Batch`] one gradient step reads (the whole set, or a gathered minibatch).

use super::{Loss, Model, Scalar};

/// Invalid data for a network; each message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    /// No data points.
    #[error("a dataset needs at least one point")]
    NoPoints,
    /// Input length not a multiple of the input dimension, or targets of the wrong length.
    #[error("{what}: expected {expected} values, got {got}")]
    Length {
        /// Which array.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// Targets of the wrong kind for the loss.
    #[error("{0:?} loss needs {1} targets")]
    TargetKind(Loss, &'static str),
    /// A class label outside `0..o`.
    #[error("class label {label} out of range for {outputs} outputs")]
    Class {
        /// The label.
        label: usize,
        /// Number of outputs.
        outputs: usize,
    },
    /// A non-finite input or target.
    #[error("{0} contains a non-finite value")]
    NonFinite(&'static str),
}

/// Training targets: one row of `o` values per point (MSE) or one class in `0..o` per point
/// (cross-entropy).
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T> {
    /// Regression targets, point-major (`n × o`).
    Values(Vec<T>),
    /// Class labels.
    Classes(Vec<usize>),
}

/// A borrowed view of [`Targets`] (e.g. of one minibatch).
#[derive(Debug, PartialEq)]
pub enum TargetsRef<'a, T> {
    /// Regression targets, point-major (`rows × o`).
    Values(&'a [T]),
    /// Class labels.
    Classes(&'a [usize]),
}

// A view is copied whatever `T` is (derive would require `T: Copy`).
impl<T> Clone for TargetsRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TargetsRef<'_, T> {}

impl<'a, T> TargetsRef<'a, T> {
    /// Rows `start..end` (`o` outputs per row).
    pub fn range(self, start: usize, end: usize, o: usize) -> Self {
        match self {
            TargetsRef::Values(v) => TargetsRef::Values(&v[start * o..end * o]),
            TargetsRef::Classes(c) => TargetsRef::Classes(&c[start..end]),
        }
    }
}

/// A dataset for a [`Model`]: inputs `X` (`n × d`, point-major, `d = input_len()`) and targets matching its loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    x: Vec<T>,
    targets: Targets<T>,
    n: usize,
}

impl<T: Scalar> Dataset<T> {
    /// Checks the lengths (`model.input_len()` values per point), finiteness, the target kind
    /// against `model`'s loss and the class range.
    pub fn new(model: &impl Model, x: Vec<T>, targets: Targets<T>) -> Result<Self, DatasetError> {
        let (d, o) = (model.input_len(), model.outputs());
        let n = x.len() / d;
        if n == 0 {
            return Err(DatasetError::NoPoints);
        }
        if x.len() != n * d {
            return Err(DatasetError::Length {
                what: "inputs",
                expected: n * d,
                got: x.len(),
            });
        }
        if !x.iter().all(|v| v.is_finite()) {
            return Err(DatasetError::NonFinite("inputs"));
        }
        match (&targets, model.loss()) {
            (Targets::Values(y), Loss::Mse) => {
                if y.len() != n * o {
                    return Err(DatasetError::Length {
                        what: "targets",
                        expected: n * o,
                        got: y.len(),
                    });
                }
                if !y.iter().all(|v| v.is_finite()) {
                    return Err(DatasetError::NonFinite("targets"));
                }
            }
            (Targets::Classes(c), Loss::CrossEntropy) => {
                if c.len() != n {
                    return Err(DatasetError::Length {
                        what: "class labels",
                        expected: n,
                        got: c.len(),
                    });
                }
                if let Some(&label) = c.iter().find(|&&c| c >= o) {
                    return Err(DatasetError::Class { label, outputs: o });
                }
            }
            (_, Loss::Mse) => return Err(DatasetError::TargetKind(Loss::Mse, "value")),
            (_, Loss::CrossEntropy) => {
                return Err(DatasetError::TargetKind(Loss::CrossEntropy, "class"))
            }
        }
        Ok(Dataset { x, targets, n })
    }

    /// Number of points `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always `false` (a dataset has at least one point).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Inputs, point-major.
    pub fn inputs(&self) -> &[T] {
        &self.x
    }

    /// Targets.
    pub fn targets(&self) -> TargetsRef<'_, T> {
        match &self.targets {
            Targets::Values(v) => TargetsRef::Values(v),
            Targets::Classes(c) => TargetsRef::Classes(c),
        }
    }

    /// The whole dataset as one batch.
    pub fn batch(&self) -> Batch<'_, T> {
        Batch {
            x: &self.x,
            targets: self.targets(),
            rows: self.n,
        }
    }

    /// The same dataset in another precision.
    pub fn convert<U: Scalar>(&self) -> Dataset<U> {
        let cv = |v: &[T]| v.iter().map(|&v| U::from_f64(v.to_f64())).collect();
        Dataset {
            x: cv(&self.x),
            targets: match &self.targets {
                Targets::Values(v) => Targets::Values(cv(v)),
                Targets::Classes(c) => Targets::Classes(c.clone()),
            },
            n: self.n,
        }
    }
}

/// Rows of inputs and their targets, as one gradient step sees them.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a, T> {
    x: &'a [T],
    targets: TargetsRef<'a, T>,
    rows: usize,
}

impl<'a, T> Batch<'a, T> {
    /// A batch of `rows` points; lengths are checked by the caller (the trainer's gather buffers).
    pub(crate) fn from_parts(x: &'a [T], targets: TargetsRef<'a, T>, rows: usize) -> Self {
        Batch { x, targets, rows }
    }

    /// Number of points.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Inputs, point-major (`rows × d`).
    pub fn x(&self) -> &'a [T] {
        self.x
    }

    /// Targets.
    pub fn targets(&self) -> TargetsRef<'a, T> {
        self.targets
    }
}
