//! Kernels whose cost follows a layer's kept weights, shared by every network: a pruned `Linear`
//! layer ([`SparseLinear`]) and a pruned 3 × 3 convolution ([`SparseConv`]), each with its
//! forward pass, its input gradient and its weight gradient *at the kept positions only* (a
//! sampled product, not a full outer product).
//!
//! ```text
//! kept fraction of layer l:  ρ_l = |{kept weights of l}| / |W_l|
//! layer l runs sparse   ⇔   ρ_l < sparse_below   (else the dense GEMM path)
//! cost per point:  dense  3 · |W_l| multiply-adds  →  sparse  3 · ρ_l |W_l|  (+ O(fan_in + fan_out))
//! ```
//!
//! A [`Model`](super::Model) takes the mask once per training run
//! ([`Model::set_mask`](super::Model::set_mask), called by [`Trainer::reset`](super::Trainer::reset))
//! and keeps, in its workspace, one kernel per layer whose kept fraction is below the threshold;
//! `forward` and `gradient` then skip the pruned weights, and the gradient's entries at pruned
//! weights are not written (the optimizer updates kept entries only). The Hessian-vector product
//! and SynFlow's gradient (once per mask) stay dense.
//!
//! **Determinism.** Which kernel a layer runs depends on its mask and the threshold alone, and
//! every kernel sums in a fixed order (points in tiles of [`TILE`], kept weights ascending), so
//! results do not depend on the thread count or the batch split. They equal the dense path up to
//! rounding: the summation order differs.
//!
//! **Vectorisation.** Both kernels run one fused multiply-add per kept weight over a contiguous
//! run of values: [`TILE`] points of a feature-major copy of the activations (linear), or a whole
//! zero-padded image plane shifted by the tap's offset (convolution), so the inner loops are
//! plain SIMD `axpy`s and dot products.

mod conv;
mod linear;

pub use self::conv::SparseConv;
pub use self::linear::SparseLinear;

use super::Scalar;

/// Kept fractions below which a layer runs its sparse kernel, per kind of layer (a `Linear`
/// layer's and a convolution's kernels overtake their dense GEMM at different densities).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SparseBelow {
    /// For `Linear` layers.
    pub linear: f64,
    /// For 3 × 3 convolutions.
    pub conv: f64,
}

impl SparseBelow {
    /// The crossovers measured on an AMD EPYC (AVX2, 2026-12-07; docs/performance.md "Training at the speed
    /// of the kept weights"): whole Adam steps with every layer at one uniform random density,
    /// sparse kernels against the dense path. The Fig. 1b MLP (`784-200-200-10`, batch 64)
    /// breaks even at 0.2 kept; the ConvNet (`3 × 32 × 32`, 32 channels, batch 64) between 0.4
    /// and 0.5.
    pub const MEASURED: SparseBelow = SparseBelow {
        linear: 0.2,
        conv: 0.4,
    };
    /// Dense kernels everywhere: how every run before the sparse kernels trained.
    pub const NEVER: SparseBelow = SparseBelow {
        linear: 0.0,
        conv: 0.0,
    };

    /// One threshold for every kind of layer.
    pub fn uniform(value: f64) -> Self {
        SparseBelow {
            linear: value,
            conv: value,
        }
    }

    /// Whether both thresholds lie in `[0, 1]`.
    pub fn is_valid(&self) -> bool {
        (0.0..=1.0).contains(&self.linear) && (0.0..=1.0).contains(&self.conv)
    }
}

/// Files written before the thresholds existed trained dense.
impl Default for SparseBelow {
    fn default() -> Self {
        SparseBelow::NEVER
    }
}

/// Points per register tile of the linear kernel (a multiple of the 16 running sums of the
/// kernels' dot products).
pub const TILE: usize = 64;

/// Independent accumulators of [`dot`] (a multiple of every SIMD width in `f32` and `f64`).
const LANES: usize = 16;

/// Whether a layer with `kept` of `total` weights runs its sparse kernel under `sparse_below`.
pub fn runs_sparse(kept: usize, total: usize, sparse_below: f64) -> bool {
    total > 0 && (kept as f64) < sparse_below * total as f64
}

/// `Σ_k a_k b_k` over `a.len()` values (a multiple of [`LANES`]) in a fixed order: [`LANES`]
/// running sums, then summed in pairs.
#[inline(always)]
pub(crate) fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    debug_assert!(a.len().is_multiple_of(LANES) && b.len() >= a.len());
    let mut acc = [T::ZERO; LANES];
    for (a, b) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for k in 0..LANES {
            acc[k] = a[k].mul_add(b[k], acc[k]);
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0]
}

/// `y ← w x + y` (one fused multiply-add per value).
#[inline(always)]
pub(crate) fn axpy<T: Scalar>(w: T, x: &[T], y: &mut [T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = w.mul_add(x, *y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_axpy_match_the_plain_sums() {
        let a: Vec<f64> = (0..48).map(|v| (v as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..48).map(|v| (v as f64 * 0.11).cos()).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-13);
        let mut y = b.clone();
        axpy(2.0, &a, &mut y);
        for k in 0..48 {
            assert!((y[k] - (2.0 * a[k] + b[k])).abs() < 1e-15);
        }
    }

    #[test]
    fn the_threshold_compares_the_kept_fraction() {
        assert!(runs_sparse(29, 100, 0.3));
        assert!(!runs_sparse(30, 100, 0.3));
        assert!(!runs_sparse(0, 100, 0.0));
        assert!(runs_sparse(100, 100, 1.01));
        assert!(!runs_sparse(0, 0, 1.0));
    }
}
