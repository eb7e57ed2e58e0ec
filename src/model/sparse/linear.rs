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
//! fixed per mask and the values may change every step. The feature-major copies hold only the
//! input units and output units that some kept weight touches (an input unit no kept weight
//! reads is never copied, and its input gradient is 0), so a layer's cost beyond its kept
//! weights is `O(rows · (used inputs + used outputs))`, not `O(rows · (in + out))`.

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
    /// Input units read by some kept weight, ascending.
    used_inputs: Vec<usize>,
    /// Output units with some kept weight, ascending.
    used_outputs: Vec<usize>,
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
        let mut read = vec![false; inputs];
        for &t in &cols {
            read[t] = true;
        }
        SparseLinear {
            inputs,
            outputs,
            used_inputs: (0..inputs).filter(|&t| read[t]).collect(),
            used_outputs: (0..outputs)
                .filter(|&j| starts[j] < starts[j + 1])
                .collect(),
            starts,
            cols,
            index,
        }
    }

    /// `at` (`in × stride`, feature-major) ← the used input units of `a` (`rows × in`,
    /// point-major), zero beyond `rows`; other units' rows of `at` are left as they are.
    pub fn load_input<T: Scalar>(&self, a: &[T], rows: usize, stride: usize, at: &mut [T]) {
        gather_columns(a, rows, self.inputs, &self.used_inputs, stride, at);
    }

    /// `dt` (`out × stride`, feature-major) ← the used output units of the delta `d`
    /// (`rows × out`, point-major), zero beyond `rows`.
    pub fn load_delta<T: Scalar>(&self, d: &[T], rows: usize, stride: usize, dt: &mut [T]) {
        gather_columns(d, rows, self.outputs, &self.used_outputs, stride, dt);
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
        z[..rows * out].fill(T::ZERO);
        for tile in 0..stride / TILE {
            let base = tile * TILE;
            let live = rows.saturating_sub(base).min(TILE);
            for &j in &self.used_outputs {
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
        for &j in &self.used_outputs {
            let d = &dt[j * stride..][..stride];
            for e in self.starts[j]..self.starts[j + 1] {
                grad[self.index[e]] = dot(d, &at[self.cols[e] * stride..][..stride]);
            }
        }
    }

    /// `g` (`rows × in`, point-major, overwritten) ← `δ W`, the input gradient, from the
    /// output delta `dt` (`out × stride`, from [`SparseLinear::load_delta`]); `gt` is scratch of
    /// `in × stride` values.
    pub fn input_grad<T: Scalar>(
        &self,
        params: &[T],
        dt: &[T],
        stride: usize,
        rows: usize,
        gt: &mut [T],
        g: &mut [T],
    ) {
        for &t in &self.used_inputs {
            gt[t * stride..][..stride].fill(T::ZERO);
        }
        for &j in &self.used_outputs {
            let d = &dt[j * stride..][..stride];
            for e in self.starts[j]..self.starts[j + 1] {
                let dst = &mut gt[self.cols[e] * stride..][..stride];
                axpy(params[self.index[e]], d, dst);
            }
        }
        let g = &mut g[..rows * self.inputs];
        g.fill(T::ZERO);
        for &t in &self.used_inputs {
            let src = &gt[t * stride..][..rows];
            for (r, &v) in src.iter().enumerate() {
                g[r * self.inputs + t] = v;
            }
        }
    }
}

/// `dst[c · stride + r] ← src[r · cols + c]` for the columns `which` and `r < rows`, zero for
/// `rows ≤ r < stride` (a feature-major copy of some columns of a point-major matrix).
fn gather_columns<T: Scalar>(
    src: &[T],
    rows: usize,
    cols: usize,
    which: &[usize],
    stride: usize,
    dst: &mut [T],
) {
    const BLOCK: usize = 8;
    for r0 in (0..rows).step_by(BLOCK) {
        let r1 = (r0 + BLOCK).min(rows);
        for &c in which {
            let out = &mut dst[c * stride + r0..c * stride + r1];
            for (k, v) in out.iter_mut().enumerate() {
                *v = src[(r0 + k) * cols + c];
            }
        }
    }
    for &c in which {
        dst[c * stride + rows..(c + 1) * stride].fill(T::ZERO);
    }
}

#[cfg(test)]
mod tests {
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
            let mut at = vec![f64::NAN; inputs * stride];
            let mut dt = vec![f64::NAN; outputs * stride];
            layer.load_input(&a, rows, stride, &mut at);
            layer.load_delta(&d, rows, stride, &mut dt);
            let mut z = vec![0.0; rows * outputs];
            layer.forward(&params, &at, stride, rows, &mut z);
            let mut grad = vec![f64::NAN; p];
            layer.weight_grad(&dt, &at, stride, &mut grad);
            let mut gt = vec![f64::NAN; inputs * stride];
            let mut g = vec![f64::NAN; rows * inputs];
            layer.input_grad(&params, &dt, stride, rows, &mut gt, &mut g);
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
