//! A dense (`Linear`) layer on a batch of row-per-point activations: forward, backward and their
//! R-operator halves, on GEMM ([`Scalar::gemm`]) or, when the mask runs the layer sparse, on its
//! [`SparseLinear`] kernel.
//!
//! ```text
//! span: W: out × in (row-major, params[weights]),  b: out (params[bias]);  A: rows × in
//! forward     Z = A Wᵀ + 1 bᵀ,   A_out = relu(Z) (hidden layer) or Z (no activation)
//! backward    ∇W = δᵀ A,   ∇b = 1ᵀ δ,   δ_in = (δ W) ⊙ 1[A > 0]       (A a ReLU output)
//! R-operator along v = (V, v_b):
//! R-forward   R{Z} = A Vᵀ + R{A} Wᵀ + 1 v_bᵀ,   R{A_out} = R{Z} ⊙ 1[A_out > 0] (hidden layer)
//! R-backward  (Hv)_W = R{δ}ᵀ A + δᵀ R{A},   (Hv)_b = 1ᵀ R{δ}
//!             R{δ_in} = (R{δ} W + δ V) ⊙ 1[A > 0],   δ_in = (δ W) ⊙ 1[A > 0]
//! ```
//!
//! (`R{A}` is absent for the first layer, whose input is the data; there no input gradient is
//! taken either.) Every product is one GEMM call with a transpose as a choice of strides; the
//! bias and ReLU are fused into one pass over the output, and `1[Z > 0]` is read back from
//! `A_out = relu(Z)`. Under a sparse kernel the forward pass and the backward pass run over the
//! kept weights only ([`crate::model::sparse`]); the R-operator halves are always dense.

use std::ops::Range;

use crate::model::activation::{column_sums, gate_by, relu};
use crate::model::sparse::{runs_sparse, SparseLinear};
use crate::model::Scalar;

/// Where a dense layer sits in the flat parameter vector, and its shape: `W` (row-major,
/// `outputs × inputs`) at `weights`, then `b` at `bias`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dense {
    /// Fan-in (input features).
    pub inputs: usize,
    /// Fan-out (output features).
    pub outputs: usize,
    /// Indices of `W` (row-major, `outputs × inputs`).
    pub weights: Range<usize>,
    /// Indices of `b`.
    pub bias: Range<usize>,
}

/// A dense layer's sparse path, borrowed from the network's workspace: its kernel and its
/// feature-major buffers (stride [`SparseLinear::stride`] of the batch's rows).
#[derive(Debug)]
pub struct SparseDense<'a, T> {
    /// The kernel over the kept weights ([`Dense::sparse_kernel`]).
    pub kernel: &'a SparseLinear,
    /// The layer's input feature-major (`inputs × stride`): written by [`Dense::forward`], read
    /// by [`Dense::backward`] of the same batch.
    pub at: &'a mut [T],
    /// Scratch for the delta feature-major (at least `outputs × stride`).
    pub dt: &'a mut [T],
    /// Scratch for the input gradient feature-major (at least `inputs × stride`).
    pub gt: &'a mut [T],
}

/// `m ← m + 1 bᵀ` and, when `relu`, `m ← relu(m)` (one fused pass over the rows of `m`).
#[inline(always)]
fn bias_rows<T: Scalar>(m: &mut [T], b: &[T], relu_out: bool) {
    let cols = b.len();
    if relu_out {
        for row in m.chunks_exact_mut(cols) {
            for (z, &bj) in row.iter_mut().zip(b) {
                *z = relu(*z + bj);
            }
        }
    } else {
        for row in m.chunks_exact_mut(cols) {
            for (z, &bj) in row.iter_mut().zip(b) {
                *z += bj;
            }
        }
    }
}

impl Dense {
    /// The `inputs → outputs` layer whose parameters start at index `start` (`W`, then `b`).
    pub fn new(inputs: usize, outputs: usize, start: usize) -> Self {
        let weights = start..start + inputs * outputs;
        let bias = weights.end..weights.end + outputs;
        Dense {
            inputs,
            outputs,
            weights,
            bias,
        }
    }

    /// The layer's sparse kernel under `mask` (indexed by parameter) when its kept fraction is
    /// below `sparse_below` ([`runs_sparse`]); `None`: it runs the dense GEMMs.
    pub fn sparse_kernel(&self, mask: &[bool], sparse_below: f64) -> Option<SparseLinear> {
        let kept = mask[self.weights.clone()].iter().filter(|&&k| k).count();
        runs_sparse(kept, self.weights.len(), sparse_below)
            .then(|| SparseLinear::new(self.inputs, self.outputs, self.weights.start, mask))
    }

    /// `Z ← A Mᵀ + β Z` for `rows` points: `A` is `rows × inputs`, `M` (`W` or `V`) is
    /// `outputs × inputs`, `Z` is `rows × outputs`.
    #[inline(always)]
    fn gemm<T: Scalar>(&self, rows: usize, a: &[T], m: &[T], beta: T, z: &mut [T]) {
        let (fan_in, fan_out) = (self.inputs, self.outputs);
        T::gemm(
            rows,
            fan_in,
            fan_out,
            T::ONE,
            (a, fan_in, 1),
            (m, 1, fan_in),
            beta,
            (z, fan_out, 1),
        );
    }

    /// `G ← δᵀ A + β G` for `rows` points: `δ` is `rows × outputs`, `A` is `rows × inputs`, `G`
    /// is `outputs × inputs`.
    #[inline(always)]
    fn weight_grad_gemm<T: Scalar>(&self, rows: usize, delta: &[T], a: &[T], beta: T, g: &mut [T]) {
        let (fan_in, fan_out) = (self.inputs, self.outputs);
        T::gemm(
            fan_out,
            rows,
            fan_in,
            T::ONE,
            (delta, 1, fan_out),
            (a, fan_in, 1),
            beta,
            (g, fan_in, 1),
        );
    }

    /// `G ← δ M + β G` for `rows` points: `δ` is `rows × outputs`, `M` (`W` or `V`) is
    /// `outputs × inputs`, `G` is `rows × inputs`.
    #[inline(always)]
    fn input_grad_gemm<T: Scalar>(&self, rows: usize, delta: &[T], m: &[T], beta: T, g: &mut [T]) {
        let (fan_in, fan_out) = (self.inputs, self.outputs);
        T::gemm(
            rows,
            fan_out,
            fan_in,
            T::ONE,
            (delta, fan_out, 1),
            (m, fan_in, 1),
            beta,
            (g, fan_in, 1),
        );
    }

    /// Forward pass of `rows` points: `out` (`rows × outputs`) ← `input Wᵀ + 1 bᵀ`, then ReLU
    /// when `relu_out`; through the kernel of `sparse` when given (which keeps the input
    /// feature-major for [`Dense::backward`]).
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        input: &[T],
        rows: usize,
        out: &mut [T],
        relu_out: bool,
        sparse: Option<SparseDense<'_, T>>,
    ) {
        let out = &mut out[..rows * self.outputs];
        match sparse {
            Some(s) => {
                let stride = SparseLinear::stride(rows);
                s.kernel.load_input(input, rows, stride, s.at);
                s.kernel.forward(params, s.at, stride, rows, out);
            }
            None => self.gemm(rows, input, &params[self.weights.clone()], T::ZERO, out),
        }
        bias_rows(out, &params[self.bias.clone()], relu_out);
    }

    /// Backward pass of `rows` points from the output delta `delta` (`rows × outputs`): `∇W`
    /// and `∇b` into `grad` (index order; under a sparse kernel the entries at pruned weights are
    /// not written) and, when `input_grad` is given, `δ_in = (δ W) ⊙ 1[input > 0]` into it
    /// (`rows × inputs`; the input is a ReLU output). `sparse` as in the forward pass of the same
    /// batch.
    #[allow(clippy::too_many_arguments)] // Span, parameters, batch, delta, outputs, path.
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        input: &[T],
        delta: &[T],
        rows: usize,
        grad: &mut [T],
        input_grad: Option<&mut [T]>,
        sparse: Option<SparseDense<'_, T>>,
    ) {
        let (fan_in, fan_out) = (self.inputs, self.outputs);
        let input = &input[..rows * fan_in];
        let dl = &delta[..rows * fan_out];
        if let Some(s) = sparse {
            let stride = SparseLinear::stride(rows);
            s.kernel.load_delta(dl, rows, stride, s.dt);
            s.kernel.weight_grad(s.dt, s.at, stride, grad);
            column_sums(dl, fan_out, &mut grad[self.bias.clone()]);
            if let Some(nx) = input_grad {
                let nx = &mut nx[..rows * fan_in];
                s.kernel.input_grad(params, s.dt, stride, rows, s.gt, nx);
                gate_by(nx, input);
            }
            return;
        }
        let gw = &mut grad[self.weights.clone()];
        self.weight_grad_gemm(rows, dl, input, T::ZERO, gw);
        column_sums(dl, fan_out, &mut grad[self.bias.clone()]);
        if let Some(nx) = input_grad {
            let nx = &mut nx[..rows * fan_in];
            let w = &params[self.weights.clone()];
            self.input_grad_gemm(rows, dl, w, T::ZERO, nx);
            gate_by(nx, input);
        }
    }

    /// R-forward of `rows` points along `v`: `r_out` (`rows × outputs`) ← `input Vᵀ + r_input
    /// Wᵀ + 1 v_bᵀ` (`r_input` = `R{A}`, absent for the first layer), then gated by
    /// `1[out > 0]` when the layer applies ReLU (`out`: its forward output `A_out`).
    #[allow(clippy::too_many_arguments)] // Span, parameters, direction, batch, inputs, outputs.
    pub fn r_forward<T: Scalar>(
        &self,
        params: &[T],
        v: &[T],
        input: &[T],
        r_input: Option<&[T]>,
        rows: usize,
        r_out: &mut [T],
        relu_out: Option<&[T]>,
    ) {
        let (fan_in, fan_out) = (self.inputs, self.outputs);
        let r_out = &mut r_out[..rows * fan_out];
        let input = &input[..rows * fan_in];
        self.gemm(rows, input, &v[self.weights.clone()], T::ZERO, r_out);
        if let Some(r_input) = r_input {
            let w = &params[self.weights.clone()];
            self.gemm(rows, &r_input[..rows * fan_in], w, T::ONE, r_out);
        }
        bias_rows(r_out, &v[self.bias.clone()], false);
        if let Some(a) = relu_out {
            gate_by(r_out, &a[..rows * fan_out]);
        }
    }

    /// R-backward of `rows` points from `δ` and `R{δ}` (`rows × outputs`): `(Hv)_W`, `(Hv)_b`
    /// into `hv` (index order) and, when `r_input` (`R{A}`) is given, `R{δ_in}` and `δ_in`
    /// into `input_grads` (`rows × inputs` each, gated by `1[input > 0]`).
    ///
    /// # Panics
    /// If exactly one of `r_input` and `input_grads` is given.
    #[allow(clippy::too_many_arguments)] // Span, parameters, direction, batch, deltas, outputs.
    pub fn r_backward<T: Scalar>(
        &self,
        params: &[T],
        v: &[T],
        input: &[T],
        r_input: Option<&[T]>,
        delta: &[T],
        r_delta: &[T],
        rows: usize,
        hv: &mut [T],
        input_grads: Option<(&mut [T], &mut [T])>,
    ) {
        assert_eq!(r_input.is_some(), input_grads.is_some(), "R{{A}} and δ_in");
        let (fan_in, fan_out) = (self.inputs, self.outputs);
        let input = &input[..rows * fan_in];
        let dl = &delta[..rows * fan_out];
        let rdl = &r_delta[..rows * fan_out];
        let hw = &mut hv[self.weights.clone()];
        self.weight_grad_gemm(rows, rdl, input, T::ZERO, hw);
        if let Some(r_input) = r_input {
            self.weight_grad_gemm(rows, dl, &r_input[..rows * fan_in], T::ONE, hw);
        }
        column_sums(rdl, fan_out, &mut hv[self.bias.clone()]);
        let Some((r_next, next)) = input_grads else {
            return;
        };
        let (w, vw) = (&params[self.weights.clone()], &v[self.weights.clone()]);
        let rnx = &mut r_next[..rows * fan_in];
        self.input_grad_gemm(rows, rdl, w, T::ZERO, rnx);
        self.input_grad_gemm(rows, dl, vw, T::ONE, rnx);
        gate_by(rnx, input);
        let nx = &mut next[..rows * fan_in];
        self.input_grad_gemm(rows, dl, w, T::ZERO, nx);
        gate_by(nx, input);
    }
}
