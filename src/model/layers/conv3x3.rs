//! A 3 × 3 convolution (stride 1, padding 1, `C_in → C_out` channels on `H × W` planes) on a
//! batch of point-major images: forward, backward and their R-operator halves, image by image on
//! im2col + GEMM ([`Scalar::gemm`]) or, when the mask runs the layer sparse, on its
//! [`SparseConv`] kernel.
//!
//! ```text
//! span: kernel W: C_out × C_in × 3 × 3 = a C_out × K matrix (K = C_in·9, params[weights]),
//!       bias b: C_out (params[bias]);  one image A[i]: C_in × H × W,  col = im2col (K × H·W)
//! forward     Z[i] = W col(A[i]) + b 1ᵀ,   A_out = relu(Z) or Z (no activation)
//! backward    ∇W = Σ_i δ[i] col(A[i])ᵀ,   ∇b = Σ_i δ[i] 1,
//!             δ_in[i] = col2im(Wᵀ δ[i]) ⊙ 1[A[i] > 0]                 (A a ReLU output)
//! R-operator along v = (V, v_b)  (col is linear: R{col(A)} = col(R{A})):
//! R-forward   R{Z}[i] = V col(A[i]) + W col(R{A}[i]) + v_b 1ᵀ,   R{A_out} = R{Z} ⊙ 1[A_out > 0]
//! R-backward  (Hv)_W = Σ_i R{δ}[i] col(A[i])ᵀ + δ[i] col(R{A}[i])ᵀ,   (Hv)_b = Σ_i R{δ}[i] 1
//!             R{δ_in}[i] = col2im(Wᵀ R{δ}[i] + Vᵀ δ[i]) ⊙ 1[A[i] > 0]
//! ```
//!
//! (`R{A}` is absent for the first layer, whose input is the data; there no input gradient is
//! taken either.) Every product is one GEMM call per image, transposes as strides; one column
//! buffer (`K × H·W`) serves every product in turn, rebuilt per image rather than stored. Bias
//! sums run in a fixed order (images, then positions). Under a sparse kernel the forward and
//! backward passes run a direct convolution over the kept taps ([`crate::model::sparse`]); the
//! R-operator halves are always dense.

use std::ops::Range;

use super::im2col::{col2im, im2col};
use crate::model::activation::{gate_by, relu};
use crate::model::sparse::{runs_sparse, SparseConv};
use crate::model::Scalar;

/// Where a 3 × 3 convolution sits in the flat parameter vector, and its shape: the kernel
/// (PyTorch's `outputs × inputs × 3 × 3`, row-major) at `weights`, then the bias at `bias`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv3x3 {
    /// Input channels `C_in`.
    pub inputs: usize,
    /// Output channels `C_out`.
    pub outputs: usize,
    /// Plane height `H` (input and output).
    pub height: usize,
    /// Plane width `W` (input and output).
    pub width: usize,
    /// Indices of the kernel (`outputs × inputs × 3 × 3`, row-major).
    pub weights: Range<usize>,
    /// Indices of the bias (`outputs`).
    pub bias: Range<usize>,
}

/// A convolution's sparse path, borrowed from the network's workspace: its kernel and one
/// image's padded and wide planes ([`SparseConv::padded_len`], [`SparseConv::wide_len`]).
#[derive(Debug)]
pub struct SparseConv3x3<'a, T> {
    /// The kernel over the kept taps ([`Conv3x3::sparse_kernel`]).
    pub kernel: &'a SparseConv,
    /// One image's input planes inside a zero border (at least `inputs` padded planes; the
    /// border stays zero).
    pub padded: &'a mut [T],
    /// One image's input gradient on padded planes (at least `inputs` padded planes).
    pub grad_padded: &'a mut [T],
    /// One image's output delta in the wide layout (at least `outputs` wide planes); its first
    /// plane is the forward accumulator.
    pub wide: &'a mut [T],
}

/// `z ← z + b[c]` on every value of plane `c` of one image (`b.len()` planes of `plane`
/// values), then ReLU when `relu_out` (one fused pass).
#[inline(always)]
fn bias_planes<T: Scalar>(z: &mut [T], b: &[T], plane: usize, relu_out: bool) {
    if relu_out {
        for (z, &bc) in z.chunks_exact_mut(plane).zip(b) {
            for z in z {
                *z = relu(*z + bc);
            }
        }
    } else {
        for (z, &bc) in z.chunks_exact_mut(plane).zip(b) {
            for z in z {
                *z += bc;
            }
        }
    }
}

/// `out[c] ← Σ_i Σ_p m[i, c, p]` over images `i` of `out.len()` planes of `plane` values, in
/// order (images, then positions).
fn plane_sums<T: Scalar>(m: &[T], plane: usize, out: &mut [T]) {
    out.fill(T::ZERO);
    for image in m.chunks_exact(out.len() * plane) {
        for (o, p) in out.iter_mut().zip(image.chunks_exact(plane)) {
            *o += p.iter().copied().sum::<T>();
        }
    }
}

impl Conv3x3 {
    /// The `inputs → outputs` channel convolution on `[height, width]` planes whose parameters
    /// start at index `start` (kernel, then bias).
    pub fn new(inputs: usize, outputs: usize, [height, width]: [usize; 2], start: usize) -> Self {
        let weights = start..start + outputs * inputs * 9;
        let bias = weights.end..weights.end + outputs;
        Conv3x3 {
            inputs,
            outputs,
            height,
            width,
            weights,
            bias,
        }
    }

    /// Fan-in `K = C_in·9`: the row length of the kernel matrix.
    pub fn fan_in(&self) -> usize {
        self.inputs * 9
    }

    /// Pixels per plane, `H·W`.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }

    /// Values of the column buffer, `K × H·W`.
    pub fn col_len(&self) -> usize {
        self.fan_in() * self.plane()
    }

    /// The layer's sparse kernel under `mask` (indexed by parameter) when its kept fraction is
    /// below `sparse_below` ([`runs_sparse`]); `None`: it runs im2col + GEMM.
    pub fn sparse_kernel(&self, mask: &[bool], sparse_below: f64) -> Option<SparseConv> {
        let kept = mask[self.weights.clone()].iter().filter(|&&k| k).count();
        runs_sparse(kept, self.weights.len(), sparse_below).then(|| {
            SparseConv::new(
                self.inputs,
                self.outputs,
                [self.height, self.width],
                self.weights.start,
                mask,
            )
        })
    }

    /// `Z ← W col + β Z` for one image: `W` is `C_out × K`, `col` is `K × H·W`, `Z` is
    /// `C_out × H·W`.
    #[inline(always)]
    fn gemm<T: Scalar>(&self, w: &[T], col: &[T], beta: T, z: &mut [T]) {
        let plane = self.plane();
        T::gemm(
            self.outputs,
            self.fan_in(),
            plane,
            T::ONE,
            (w, self.fan_in(), 1),
            (col, plane, 1),
            beta,
            (z, plane, 1),
        );
    }

    /// `G ← δ colᵀ + β G` for one image: `δ` is `C_out × H·W`, `G` is `C_out × K`.
    #[inline(always)]
    fn weight_grad_gemm<T: Scalar>(&self, delta: &[T], col: &[T], beta: T, g: &mut [T]) {
        let plane = self.plane();
        T::gemm(
            self.outputs,
            plane,
            self.fan_in(),
            T::ONE,
            (delta, plane, 1),
            (col, 1, plane),
            beta,
            (g, self.fan_in(), 1),
        );
    }

    /// `col ← Wᵀ δ + β col` for one image (`K × H·W`).
    #[inline(always)]
    fn input_grad_gemm<T: Scalar>(&self, w: &[T], delta: &[T], beta: T, col: &mut [T]) {
        let plane = self.plane();
        T::gemm(
            self.fan_in(),
            self.outputs,
            plane,
            T::ONE,
            (w, 1, self.fan_in()),
            (delta, plane, 1),
            beta,
            (col, plane, 1),
        );
    }

    /// Forward pass of `rows` images: `out` (`rows × C_out·H·W`) ← `W col(input) + b 1ᵀ`, then
    /// ReLU when `relu_out`; on im2col + GEMM through `col` (at least [`Conv3x3::col_len`]), or
    /// through the kernel of `sparse` when given.
    #[allow(clippy::too_many_arguments)] // Span, parameters, batch, outputs, buffers, path.
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        input: &[T],
        rows: usize,
        out: &mut [T],
        relu_out: bool,
        col: &mut [T],
        mut sparse: Option<SparseConv3x3<'_, T>>,
    ) {
        let (h, w, plane) = (self.height, self.width, self.plane());
        let (in_len, out_len) = (self.inputs * plane, self.outputs * plane);
        let (weights, bias) = (&params[self.weights.clone()], &params[self.bias.clone()]);
        for (image, z) in input[..rows * in_len]
            .chunks_exact(in_len)
            .zip(out[..rows * out_len].chunks_exact_mut(out_len))
        {
            match sparse.as_mut() {
                Some(s) => {
                    s.kernel.pad(image, s.padded);
                    s.kernel.forward(params, s.padded, s.wide, z);
                }
                None => {
                    im2col(image, self.inputs, h, w, col);
                    self.gemm(weights, col, T::ZERO, z);
                }
            }
            bias_planes(z, bias, plane, relu_out);
        }
    }

    /// Backward pass of `rows` images from the output delta `delta` (`rows × C_out·H·W`): `∇W`
    /// and `∇b` into `grad` (index order; under a sparse kernel the entries at pruned taps are
    /// not written) and, when `input_grad` is given, `δ_in = col2im(Wᵀ δ) ⊙ 1[input > 0]` into
    /// it (`rows × C_in·H·W`; the input is a ReLU output). `col` and `sparse` as in the forward
    /// pass.
    #[allow(clippy::too_many_arguments)] // Span, parameters, batch, delta, outputs, buffers, path.
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        input: &[T],
        delta: &[T],
        rows: usize,
        grad: &mut [T],
        mut input_grad: Option<&mut [T]>,
        col: &mut [T],
        sparse: Option<SparseConv3x3<'_, T>>,
    ) {
        let (h, w, plane) = (self.height, self.width, self.plane());
        let (in_len, out_len) = (self.inputs * plane, self.outputs * plane);
        let dl = &delta[..rows * out_len];
        match sparse {
            Some(s) => {
                for i in 0..rows {
                    let image = &input[i * in_len..(i + 1) * in_len];
                    s.kernel.pad(image, s.padded);
                    s.kernel.widen(&dl[i * out_len..(i + 1) * out_len], s.wide);
                    s.kernel.weight_grad(s.wide, s.padded, i == 0, grad);
                    if let Some(next) = input_grad.as_deref_mut() {
                        let nx = &mut next[i * in_len..(i + 1) * in_len];
                        s.kernel.input_grad(params, s.wide, s.grad_padded, nx);
                        gate_by(nx, image);
                    }
                }
            }
            None => {
                let weights = &params[self.weights.clone()];
                let gw = &mut grad[self.weights.clone()];
                if rows == 0 {
                    gw.fill(T::ZERO);
                }
                for i in 0..rows {
                    let image = &input[i * in_len..(i + 1) * in_len];
                    let di = &dl[i * out_len..(i + 1) * out_len];
                    let beta = if i == 0 { T::ZERO } else { T::ONE };
                    im2col(image, self.inputs, h, w, col);
                    self.weight_grad_gemm(di, col, beta, gw);
                    if let Some(next) = input_grad.as_deref_mut() {
                        let nx = &mut next[i * in_len..(i + 1) * in_len];
                        self.input_grad_gemm(weights, di, T::ZERO, col);
                        col2im(col, self.inputs, h, w, nx);
                        gate_by(nx, image);
                    }
                }
            }
        }
        plane_sums(dl, plane, &mut grad[self.bias.clone()]);
    }

    /// R-forward of `rows` images along `v`: `r_out` (`rows × C_out·H·W`) ← `V col(input) +
    /// W col(r_input) + v_b 1ᵀ` (`r_input` = `R{A}`, absent for the first layer), then gated by
    /// `1[out > 0]` when the layer applies ReLU (`out`: its forward output `A_out`).
    #[allow(clippy::too_many_arguments)] // Span, parameters, direction, batch, inputs, outputs, buffer.
    pub fn r_forward<T: Scalar>(
        &self,
        params: &[T],
        v: &[T],
        input: &[T],
        r_input: Option<&[T]>,
        rows: usize,
        r_out: &mut [T],
        relu_out: Option<&[T]>,
        col: &mut [T],
    ) {
        let (h, w, plane) = (self.height, self.width, self.plane());
        let (in_len, out_len) = (self.inputs * plane, self.outputs * plane);
        let (weights, vw, vb) = (
            &params[self.weights.clone()],
            &v[self.weights.clone()],
            &v[self.bias.clone()],
        );
        for (i, (image, rz)) in input[..rows * in_len]
            .chunks_exact(in_len)
            .zip(r_out[..rows * out_len].chunks_exact_mut(out_len))
            .enumerate()
        {
            im2col(image, self.inputs, h, w, col);
            self.gemm(vw, col, T::ZERO, rz);
            if let Some(r_input) = r_input {
                let r_image = &r_input[i * in_len..(i + 1) * in_len];
                im2col(r_image, self.inputs, h, w, col);
                self.gemm(weights, col, T::ONE, rz);
            }
            bias_planes(rz, vb, plane, false);
            if let Some(a) = relu_out {
                gate_by(rz, &a[i * out_len..(i + 1) * out_len]);
            }
        }
    }

    /// R-backward of `rows` images from `δ` and `R{δ}` (`rows × C_out·H·W`): `(Hv)_W`, `(Hv)_b`
    /// into `hv` (index order) and, when `r_input` (`R{A}`) is given, `R{δ_in}` and `δ_in` into
    /// `input_grads` (`rows × C_in·H·W` each, gated by `1[input > 0]`).
    ///
    /// # Panics
    /// If exactly one of `r_input` and `input_grads` is given.
    #[allow(clippy::too_many_arguments)] // Span, parameters, direction, batch, deltas, outputs, buffer.
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
        mut input_grads: Option<(&mut [T], &mut [T])>,
        col: &mut [T],
    ) {
        assert_eq!(r_input.is_some(), input_grads.is_some(), "R{{A}} and δ_in");
        let (h, w, plane) = (self.height, self.width, self.plane());
        let (in_len, out_len) = (self.inputs * plane, self.outputs * plane);
        let dl = &delta[..rows * out_len];
        let rdl = &r_delta[..rows * out_len];
        let (weights, vw) = (&params[self.weights.clone()], &v[self.weights.clone()]);
        let hw = &mut hv[self.weights.clone()];
        if rows == 0 {
            hw.fill(T::ZERO);
        }
        for i in 0..rows {
            let image = &input[i * in_len..(i + 1) * in_len];
            let (di, rdi) = (
                &dl[i * out_len..(i + 1) * out_len],
                &rdl[i * out_len..(i + 1) * out_len],
            );
            let beta = if i == 0 { T::ZERO } else { T::ONE };
            im2col(image, self.inputs, h, w, col);
            self.weight_grad_gemm(rdi, col, beta, hw);
            if let (Some(r_input), Some((r_next, next))) = (r_input, input_grads.as_mut()) {
                let r_image = &r_input[i * in_len..(i + 1) * in_len];
                im2col(r_image, self.inputs, h, w, col);
                self.weight_grad_gemm(di, col, T::ONE, hw);
                let rnx = &mut r_next[i * in_len..(i + 1) * in_len];
                self.input_grad_gemm(weights, rdi, T::ZERO, col);
                self.input_grad_gemm(vw, di, T::ONE, col);
                col2im(col, self.inputs, h, w, rnx);
                gate_by(rnx, image);
                let nx = &mut next[i * in_len..(i + 1) * in_len];
                self.input_grad_gemm(weights, di, T::ZERO, col);
                col2im(col, self.inputs, h, w, nx);
                gate_by(nx, image);
            }
        }
        plane_sums(rdl, plane, &mut hv[self.bias.clone()]);
    }
}
