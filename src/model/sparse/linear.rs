//! A pruned `Linear` layer's kernels over its kept weights only.
//!
//! ```text
//! W: out × in (row-major in the parameters from `offset`),  kept set K = {(j, t)}
//! activations feature-major in tiles of TILE points:  Aᵀ: in × R,  δᵀ: out × R  (R = rows padded)
//! forward        Zᵀ[j, :] = Σ_{(j,t) ∈ K, t ascending} W_jt Aᵀ[t, :]
//! input grad     Gᵀ[t, :] = Σ_{(j,t) ∈ K, j ascending} W_jt δᵀ[j, :]
//! weight grad    ∇W_jt = ⟨δᵀ[j, :], Aᵀ[t, :]⟩   for (j, t) ∈ K only
//! ```
//!
//! The kept weights are stored by row (compressed sparse rows: input unit and parameter index
//! of each), and their values are read from the parameters at every call, so the structure is
//! fixed per mask and the values may change every step.

use super::{axpy, dot, Scalar, TILE};

/// The kept weights of one `Linear` layer in compressed rows (module docs).
#[derive(Clone, Debug)]
pub struct SparseLinear {
    inputs: usize,
    outputs: usize,
    /// Row `j`'s kept weights are `starts[j]..starts[j + 1]` of `cols` / `index`.
    starts: Vec<usize>,
    /// Input unit `t` of each kept weight.
    cols: Vec<usize>,
    /// Parameter index of each kept weight.
    index: Vec<usize>,
}

impl SparseLinear {
    /// The kept weights of the `outputs × inputs` weight matrix stored row-major from parameter
    /// `offset`, under `mask` (indexed by parameter).
    pub fn new(inputs: usize, outputs: usize, offset: usize, mask: &[bool]) -> Self {
        let mut starts = Vec::with_capacity(outputs + 1);
        starts.push(0);
        let (mut cols, mut index) = (Vec::new(), Vec::new());
        for j in 0..outputs {
            for t in 0..inputs {
                let i = offset + j * inputs + t;
                if mask[i] {
                    cols.push(t);
                    index.push(i);
                }
            }
            starts.push(index.len());
        }
        SparseLinear {
            inputs,
            outputs,
            starts,
            cols,
            index,
        }
    }

    /// Number of kept weights.
    pub fn kept(&self) -> usize {
        self.index.len()
    }

    /// Rows padded to whole tiles: the stride of the feature-major buffers.
    pub fn stride(rows: usize) -> usize {
        rows.div_ceil(TILE).max(1) * TILE
    }

    /// `z` (`rows × out`, point-major, overwritten) ← `W a` from `at`, the layer's input
    /// feature-major (`in × stride`, zero beyond `rows`).
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        at: &[T],
        stride: usize,
        rows: usize,
        z: &mut [T],
    ) {
        let out = self.outputs;
        for tile in 0..stride / TILE {
            let base = tile * TILE;
            let live = rows.saturating_sub(base).min(TILE);
            for j in 0..out {
                let mut acc = [T::ZERO; TILE];
                for e in self.starts[j]..self.starts[j + 1] {
                    let a = &at[self.cols[e] * stride + base..][..TILE];
                    axpy(params[self.index[e]], a, &mut acc);
                }
                for (k, &v) in acc[..live].iter().enumerate() {
                    z[(base + k) * out + j] = v;
                }
            }
        }
    }

    /// `grad[i] ← ⟨δᵀ[j, :], Aᵀ[t, :]⟩` at each kept weight `i = (j, t)`, from the layer's
    /// output delta `dt` (`out × stride`) and input `at` (`in × stride`), both feature-major and
    /// zero beyond the batch. Entries at pruned weights are not written.
    pub fn weight_grad<T: Scalar>(&self, dt: &[T], at: &[T], stride: usize, grad: &mut [T]) {
        for j in 0..self.outputs {
            let d = &dt[j * stride..][..stride];
            for e in self.starts[j]..self.starts[j + 1] {
                grad[self.index[e]] = dot(d, &at[self.cols[e] * stride..][..stride]);
            }
        }
    }

    /// `gt` (`in × stride`, feature-major, overwritten) ← `Wᵀ δ` from the output delta `dt`
    /// (`out × stride`).
    pub fn input_grad<T: Scalar>(&self, params: &[T], dt: &[T], stride: usize, gt: &mut [T]) {
        gt[..self.inputs * stride].fill(T::ZERO);
        for j in 0..self.outputs {
            let d = &dt[j * stride..][..stride];
            for e in self.starts[j]..self.starts[j + 1] {
                let g = &mut gt[self.cols[e] * stride..][..stride];
                axpy(params[self.index[e]], d, g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{transpose_in, transpose_out};
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The three kernels against the dense formulas with the mask multiplied in.
    #[test]
    fn equals_the_dense_products_of_the_masked_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (inputs, outputs, offset) = (13, 9, 5);
        for rows in [1, 30, 64, 70] {
            let p = offset + inputs * outputs + 3;
            let mask: Vec<bool> = (0..p).map(|_| rng.random_bool(0.3)).collect();
            let params: Vec<f64> = (0..p).map(|_| rng.random_range(-1.0..1.0)).collect();
            let a: Vec<f64> = (0..rows * inputs)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let d: Vec<f64> = (0..rows * outputs)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let w = |j: usize, t: usize| {
                let i = offset + j * inputs + t;
                if mask[i] {
                    params[i]
                } else {
                    0.0
                }
            };
            let layer = SparseLinear::new(inputs, outputs, offset, &mask);
            let stride = SparseLinear::stride(rows);
            let mut at = vec![0.0; inputs * stride];
            let mut dt = vec![0.0; outputs * stride];
            transpose_in(&a, rows, inputs, stride, &mut at);
            transpose_in(&d, rows, outputs, stride, &mut dt);
            let mut z = vec![0.0; rows * outputs];
            layer.forward(&params, &at, stride, rows, &mut z);
            let mut grad = vec![f64::NAN; p];
            layer.weight_grad(&dt, &at, stride, &mut grad);
            let mut gt = vec![f64::NAN; inputs * stride];
            layer.input_grad(&params, &dt, stride, &mut gt);
            let mut g = vec![0.0; rows * inputs];
            transpose_out(&gt, rows, inputs, stride, &mut g);
            for i in 0..rows {
                for j in 0..outputs {
                    let want: f64 = (0..inputs).map(|t| w(j, t) * a[i * inputs + t]).sum();
                    assert!((z[i * outputs + j] - want).abs() < 1e-12);
                }
                for t in 0..inputs {
                    let want: f64 = (0..outputs).map(|j| w(j, t) * d[i * outputs + j]).sum();
                    assert!((g[i * inputs + t] - want).abs() < 1e-12);
                }
            }
            for j in 0..outputs {
                for t in 0..inputs {
                    let i = offset + j * inputs + t;
                    if mask[i] {
                        let want: f64 = (0..rows)
                            .map(|r| d[r * outputs + j] * a[r * inputs + t])
                            .sum();
                        assert!((grad[i] - want).abs() < 1e-12);
                    } else {
                        assert!(grad[i].is_nan(), "pruned entry written");
                    }
                }
            }
        }
    }
}
