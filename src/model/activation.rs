//! The elementwise pieces every network's GEMM passes share: ReLU, its derivative as a gate,
//! and the column sums of a bias gradient.
//!
//! ```text
//! relu(z) = max(z, 0)   (NaN stays NaN, so that a diverged unit is not silently zeroed)
//! gate:     d ← d ⊙ 1[a > 0]   with a = relu(z), so 1[a > 0] = 1[z > 0] = relu'(z)
//! column sums of an r × c matrix M:  out_j = Σ_i M_ij   (fixed order, row after row)
//! ```

use super::Scalar;

/// ReLU that keeps NaN (so that a diverged unit is not silently zeroed).
#[inline(always)]
pub(crate) fn relu<T: Scalar>(v: T) -> T {
    if v < T::ZERO {
        T::ZERO
    } else {
        v
    }
}

/// `d ← d ⊙ 1[a > 0]`.
#[inline(always)]
pub(crate) fn gate_by<T: Scalar>(d: &mut [T], a: &[T]) {
    for (d, &a) in d.iter_mut().zip(a) {
        *d = if a > T::ZERO { *d } else { T::ZERO };
    }
}

/// Column sums of the row-major `m` (`cols` columns) into `out`, row after row.
#[inline(always)]
pub(crate) fn column_sums<T: Scalar>(m: &[T], cols: usize, out: &mut [T]) {
    out.fill(T::ZERO);
    for row in m.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}
