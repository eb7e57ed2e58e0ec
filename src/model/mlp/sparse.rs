//! Forward-only evaluation of a pruned MLP that skips its pruned weights: the Monte-Carlo
//! and training-set forward passes of the noise-correlation experiment, whose layers become very
//! sparse after a few IMP levels (density `0.8^j` at level `j`).
//!
//! ```text
//! inputs in blocks of B points, held feature-major (Aᵀ: w × B, zero-padded to a multiple of 64;
//!          B = 64 when any layer is sparse, so that a block's activations stay in L1)
//! dense layer  (kept fraction ≥ threshold):  Zᵀ = W Aᵀ (one GEMM), then + b, ReLU
//! sparse layer (kept fraction < threshold):  Zᵀ[j, :] = b_j + Σ_{t kept in row j, ascending} W_jt Aᵀ[t, :]
//!              (64 points at a time in registers, one fused multiply-add per kept weight and point)
//! ```
//!
//! A layer's kernel is chosen from the mask alone (its kept fraction), and every sum runs in a
//! fixed order, so results are deterministic; they equal [`Mlp::evaluate`] up to rounding (the
//! summation order differs). The mask's structure is fixed by [`SparseEval::set_mask`] (once per
//! IMP level); each [`SparseEval::evaluate`] reads the current values of the kept weights.

use super::Mlp;
use crate::model::{Model, Scalar};

/// Points per register tile of the sparse kernel.
const TILE: usize = 64;

/// Default kept fraction below which a layer runs the sparse kernel (measured on the student
/// `50-100-100-100-100-1`: the sparse kernel overtakes `matrixmultiply`'s GEMM at about
/// this density; README "noise-corr").
pub const DEFAULT_SPARSE_BELOW: f64 = 0.2;

#[derive(Clone, Debug)]
enum Kernel<T> {
    Dense,
    Sparse {
        /// Row `j`'s kept weights are `starts[j]..starts[j + 1]` of `index`/`values`.
        starts: Vec<usize>,
        /// Input unit of each kept weight.
        cols: Vec<usize>,
        /// Parameter index of each kept weight.
        index: Vec<usize>,
        /// Its current value.
        values: Vec<T>,
    },
}

/// Forward-only evaluator of one MLP under a fixed mask (module docs).
#[derive(Clone, Debug)]
pub struct SparseEval<T> {
    mlp: Mlp,
    block: usize,
    threshold: f64,
    kernels: Vec<Kernel<T>>,
    bufs: [Vec<T>; 2],
}

impl<T: Scalar> SparseEval<T> {
    /// An evaluator for `mlp` in blocks of `block` points (rounded up to a multiple of 64),
    /// sparse below kept fraction `threshold`; dense until [`SparseEval::set_mask`].
    pub fn new(mlp: &Mlp, block: usize, threshold: f64) -> Self {
        let block = block.max(1).div_ceil(TILE) * TILE;
        let wide = block * mlp.max_width();
        SparseEval {
            mlp: mlp.clone(),
            block,
            threshold,
            kernels: vec![Kernel::Dense; mlp.layers().len()],
            bufs: [vec![T::ZERO; wide], vec![T::ZERO; wide]],
        }
    }

    /// Fixes the mask (`None`: dense); a layer whose kept fraction of weights is below the
    /// threshold gets the sparse kernel.
    pub fn set_mask(&mut self, mask: Option<&[bool]>) {
        self.kernels = self
            .mlp
            .layers()
            .iter()
            .map(|l| {
                let Some(mask) = mask else {
                    return Kernel::Dense;
                };
                let kept = mask[l.weights.clone()].iter().filter(|&&k| k).count();
                if kept as f64 >= self.threshold * l.weights.len() as f64 {
                    return Kernel::Dense;
                }
                let mut starts = vec![0];
                let (mut cols, mut index) = (Vec::new(), Vec::new());
                for j in 0..l.outputs {
                    for t in 0..l.inputs {
                        let i = l.weights.start + j * l.inputs + t;
                        if mask[i] {
                            cols.push(t);
                            index.push(i);
                        }
                    }
                    starts.push(index.len());
                }
                let values = vec![T::ZERO; index.len()];
                Kernel::Sparse {
                    starts,
                    cols,
                    index,
                    values,
                }
            })
            .collect();
    }

    /// Number of layers running the sparse kernel.
    pub fn sparse_layers(&self) -> usize {
        self.kernels
            .iter()
            .filter(|k| matches!(k, Kernel::Sparse { .. }))
            .count()
    }

    /// Outputs at `params` (pruned entries must be 0) for `rows` inputs (point-major `x`) into
    /// `out` (`rows × o`).
    pub fn evaluate(&mut self, params: &[T], x: &[T], rows: usize, out: &mut [T]) {
        let (d, o) = (self.mlp.input_dim(), self.mlp.outputs());
        assert!(
            params.len() == self.mlp.num_params() && x.len() >= rows * d && out.len() >= rows * o,
            "SparseEval::evaluate: slice lengths"
        );
        for k in &mut self.kernels {
            if let Kernel::Sparse { index, values, .. } = k {
                for (v, &i) in values.iter_mut().zip(index.iter()) {
                    *v = params[i];
                }
            }
        }
        // Blocks of one tile when a layer is sparse (its kernel wants the block's input in L1),
        // else GEMM-sized blocks.
        let block = if self.sparse_layers() > 0 {
            TILE
        } else {
            self.block
        };
        let mut start = 0;
        while start < rows {
            let b = (rows - start).min(block);
            self.block_forward(
                params,
                &x[start * d..(start + b) * d],
                b,
                &mut out[start * o..(start + b) * o],
            );
            start += b;
        }
    }

    fn block_forward(&mut self, params: &[T], x: &[T], b: usize, out: &mut [T]) {
        let bp = b.div_ceil(TILE) * TILE;
        let d = self.mlp.input_dim();
        let [cur, next] = &mut self.bufs;
        // Inputs feature-major, padded with zeros.
        for t in 0..d {
            let row = &mut cur[t * bp..(t + 1) * bp];
            for (i, v) in row.iter_mut().enumerate() {
                *v = if i < b { x[i * d + t] } else { T::ZERO };
            }
        }
        let last = self.mlp.layers().len() - 1;
        for (l, (layer, kernel)) in self.mlp.layers().iter().zip(&self.kernels).enumerate() {
            let (fan_in, fan_out) = (layer.inputs, layer.outputs);
            let input = &cur[..fan_in * bp];
            let output = &mut next[..fan_out * bp];
            let bias = &params[layer.bias.clone()];
            let hidden = l < last;
            match kernel {
                Kernel::Dense => {
                    T::gemm(
                        fan_out,
                        fan_in,
                        bp,
                        T::ONE,
                        (&params[layer.weights.clone()], fan_in, 1),
                        (input, bp, 1),
                        T::ZERO,
                        (output, bp, 1),
                    );
                    for (row, &bj) in output.chunks_exact_mut(bp).zip(bias) {
                        for z in row {
                            let v = *z + bj;
                            *z = if hidden && v < T::ZERO { T::ZERO } else { v };
                        }
                    }
                }
                Kernel::Sparse {
                    starts,
                    cols,
                    values,
                    ..
                } => {
                    // One tile of 64 points per block (bp = TILE when any layer is sparse):
                    // the block's input (fan_in × 64) stays in L1 across all rows.
                    for (j, dst) in output.chunks_exact_mut(TILE).enumerate() {
                        let (cs, vs) = (
                            &cols[starts[j]..starts[j + 1]],
                            &values[starts[j]..starts[j + 1]],
                        );
                        let mut acc = [bias[j]; TILE];
                        for (&c, &w) in cs.iter().zip(vs) {
                            let a: &[T; TILE] =
                                input[c * TILE..c * TILE + TILE].try_into().expect("tile");
                            for k in 0..TILE {
                                acc[k] = w.mul_add(a[k], acc[k]);
                            }
                        }
                        for k in 0..TILE {
                            let s = acc[k];
                            dst[k] = if hidden && s < T::ZERO { T::ZERO } else { s };
                        }
                    }
                }
            }
            std::mem::swap(cur, next);
        }
        let o = self.mlp.outputs();
        for i in 0..b {
            for k in 0..o {
                out[i * o + k] = cur[k * bp + i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Loss;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn equals_the_dense_forward_at_every_density() {
        let mlp = Mlp::new(&[5, 9, 7, 2], Loss::Mse).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let rows = 150;
        let x: Vec<f64> = (0..rows * 5).map(|_| rng.random_range(-2.0..2.0)).collect();
        for density in [1.0, 0.6, 0.2, 0.0] {
            let mask: Vec<bool> = (0..mlp.num_params())
                .map(|i| !mlp.is_weight(i) || rng.random_bool(density))
                .collect();
            let params: Vec<f64> = mlp
                .init_params(1)
                .iter()
                .zip(&mask)
                .map(|(&w, &m)| if m { w } else { 0.0 })
                .collect();
            let mut dense = vec![0.0; rows * 2];
            let mut ws = mlp.workspace(64);
            mlp.evaluate(&params, &x, rows, &mut ws, &mut dense);
            for threshold in [0.0, 0.5, 1.1] {
                let mut ev = SparseEval::<f64>::new(&mlp, 100, threshold);
                ev.set_mask(Some(&mask));
                if threshold > 1.0 {
                    assert_eq!(ev.sparse_layers(), 3);
                }
                let mut got = vec![0.0; rows * 2];
                ev.evaluate(&params, &x, rows, &mut got);
                for (a, b) in got.iter().zip(&dense) {
                    assert!((a - b).abs() < 1e-12, "density {density}: {a} vs {b}");
                }
            }
        }
    }
}
