//! Forward pass, backprop and the R-operator Hessian-vector product of [`Conv`] on im2col +
//! GEMM, with the formulas and layout of the [module docs](super).

use super::im2col::{col2im, im2col};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Conv, ConvLayer};
use crate::model::activation::{column_sums, gate_by, relu};
use crate::model::sparse::{runs_sparse, SparseBelow, SparseConv, SparseLinear};
use crate::model::{Batch, Loss, Model, ModelWorkspace, Scalar, TargetsRef};

/// Buffers for batches of up to `capacity` rows, sized once: the output of every weight layer,
/// two delta buffers, one im2col column buffer, per-point losses, (allocated on the first
/// [`Model::hvp`]) the R-operator counterparts of the activations and deltas, and (allocated by
/// [`Conv::set_mask`]) the sparse layers' kernels and buffers.
#[derive(Clone, Debug)]
pub struct ConvWorkspace<T> {
    capacity: usize,
    /// `acts[l]`: output of weight layer `l` (`A_{l+1}`, `capacity × C_{l+1}·H·W`; the last is
    /// `F`, `capacity × o`).
    acts: Vec<Vec<T>>,
    /// `δ` of the current and the next layer down, `capacity × max(N·H·W, o)` each.
    delta: [Vec<T>; 2],
    /// One image's column matrix, `max(C, N)·9 × H·W`; every product uses it in turn.
    col: Vec<T>,
    r_acts: Vec<Vec<T>>,
    r_delta: [Vec<T>; 2],
    point_loss: Vec<T>,
    /// The all-ones input of SynFlow (`C·H·W`).
    ones: Vec<T>,
    /// Per convolution, its sparse kernel when the mask runs it sparse (empty: dense network).
    sparse: Vec<Option<SparseConv>>,
    /// The linear layer's sparse kernel, when it runs one.
    linear: Option<SparseLinear>,
    /// One image's input planes inside a zero border (`max C_in × padded_len`; the border stays
    /// zero).
    padded: Vec<T>,
    /// One image's input gradient on padded planes (`max C_in × padded_len`).
    grad_padded: Vec<T>,
    /// One image's output delta in the wide layout (`N × wide_len`); its first plane is the
    /// forward accumulator.
    wide: Vec<T>,
    /// The linear layer's input (`N·H·W × stride`), delta (`o × stride`) and input gradient
    /// (`N·H·W × stride`), feature-major, when it runs sparse.
    at: Vec<T>,
    dt: Vec<T>,
    gt: Vec<T>,
}

impl<T: Scalar> ConvWorkspace<T> {
    /// Buffers for `conv` and batches of up to `capacity` rows (at least 1).
    pub fn new(conv: &Conv, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let plane = conv.plane();
        let wide = capacity * (conv.channels() * plane).max(conv.outputs());
        let max_in = conv
            .conv_layers()
            .iter()
            .map(|l| l.inputs)
            .max()
            .unwrap_or(1);
        ConvWorkspace {
            capacity,
            acts: conv
                .conv_layers()
                .iter()
                .map(|l| vec![T::ZERO; capacity * l.outputs * plane])
                .chain(std::iter::once(vec![T::ZERO; capacity * conv.outputs()]))
                .collect(),
            delta: [vec![T::ZERO; wide], vec![T::ZERO; wide]],
            col: vec![T::ZERO; max_in * 9 * plane],
            r_acts: Vec::new(),
            r_delta: [Vec::new(), Vec::new()],
            point_loss: vec![T::ZERO; capacity],
            ones: vec![T::ONE; conv.input_len()],
            sparse: Vec::new(),
            linear: None,
            padded: Vec::new(),
            grad_padded: Vec::new(),
            wide: Vec::new(),
            at: Vec::new(),
            dt: Vec::new(),
            gt: Vec::new(),
        }
    }

    /// Stride of the linear layer's feature-major buffers.
    fn stride(&self) -> usize {
        SparseLinear::stride(self.capacity)
    }

    /// Outputs `F` of the last forward pass (`rows × o`, first rows).
    pub fn outputs(&self) -> &[T] {
        self.acts.last().map_or(&[], |v| v)
    }

    fn ensure_hvp(&mut self) {
        if self.r_acts.is_empty() {
            self.r_acts = self.acts.clone();
            self.r_delta = self.delta.clone();
        }
    }
}

impl<T: Scalar> ModelWorkspace<T> for ConvWorkspace<T> {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn point_losses(&self) -> &[T] {
        &self.point_loss
    }

    fn head_buffers(&mut self, rows: usize) -> (&[T], &mut [T], &mut [T]) {
        let o = self.acts.last().map_or(0, |f| f.len() / self.capacity);
        let f = self.acts.last().map_or(&[][..], |f| &f[..rows * o]);
        (
            f,
            &mut self.delta[0][..rows * o],
            &mut self.point_loss[..rows],
        )
    }
}

/// `z ← relu(z + b[c])` on every value of plane `c` of one image (`b.len()` planes of `plane`
/// values; one fused pass).
#[inline(always)]
fn bias_relu_planes<T: Scalar>(z: &mut [T], b: &[T], plane: usize) {
    for (z, &bc) in z.chunks_exact_mut(plane).zip(b) {
        for z in z {
            *z = relu(*z + bc);
        }
    }
}

/// `z ← z + b[c]` on every value of plane `c` of one image.
#[inline(always)]
fn add_planes<T: Scalar>(z: &mut [T], b: &[T], plane: usize) {
    for (z, &bc) in z.chunks_exact_mut(plane).zip(b) {
        for z in z {
            *z += bc;
        }
    }
}

/// Adds `b` to every row of `m` (`b.len()` columns).
#[inline(always)]
fn add_rows<T: Scalar>(m: &mut [T], b: &[T]) {
    for row in m.chunks_exact_mut(b.len()) {
        for (z, &bj) in row.iter_mut().zip(b) {
            *z += bj;
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

/// `Z ← W col` for one image: `W` is `C_out × K`, `col` is `K × H·W`, `Z` is `C_out × H·W`.
#[inline(always)]
fn conv_gemm<T: Scalar>(layer: &ConvLayer, plane: usize, w: &[T], col: &[T], beta: T, z: &mut [T]) {
    T::gemm(
        layer.outputs,
        layer.fan_in,
        plane,
        T::ONE,
        (w, layer.fan_in, 1),
        (col, plane, 1),
        beta,
        (z, plane, 1),
    );
}

/// `G ← δ colᵀ + β G` for one image: `δ` is `C_out × H·W`, `G` is `C_out × K`.
#[inline(always)]
fn weight_grad_gemm<T: Scalar>(
    layer: &ConvLayer,
    plane: usize,
    delta: &[T],
    col: &[T],
    beta: T,
    g: &mut [T],
) {
    T::gemm(
        layer.outputs,
        plane,
        layer.fan_in,
        T::ONE,
        (delta, plane, 1),
        (col, 1, plane),
        beta,
        (g, layer.fan_in, 1),
    );
}

/// `col ← Wᵀ δ + β col` for one image (`K × H·W`).
#[inline(always)]
fn input_grad_gemm<T: Scalar>(
    layer: &ConvLayer,
    plane: usize,
    w: &[T],
    delta: &[T],
    beta: T,
    col: &mut [T],
) {
    T::gemm(
        layer.fan_in,
        layer.outputs,
        plane,
        T::ONE,
        (w, 1, layer.fan_in),
        (delta, plane, 1),
        beta,
        (col, plane, 1),
    );
}

impl Conv {
    /// From the outputs of the last forward pass: per-point losses `ℓ_i` (outputs times
    /// `inv_t`), `δ_L = scale · ℓ'(U)` into `ws.delta[0]`, and `Σ_i ℓ_i` (in `f64`).
    fn output_delta<T: Scalar>(
        &self,
        targets: TargetsRef<'_, T>,
        rows: usize,
        inv_t: T,
        scale: T,
        ws: &mut ConvWorkspace<T>,
    ) -> f64 {
        let o = self.outputs();
        let (f, delta, point_loss) = ws.head_buffers(rows);
        self.loss()
            .head(f, targets, o, inv_t, scale, delta, point_loss)
    }

    /// Backward pass from `δ_L` in `ws.delta[0]` (`rows × o`): the gradient into `grad`
    /// (index order), through the sparse kernels when `sparse` (after a sparse
    /// [`Conv::forward_pass`] of the same batch).
    fn backward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut ConvWorkspace<T>,
        grad: &mut [T],
        sparse: bool,
    ) {
        let plane = self.plane();
        let last = self.depth() - 1;
        let stride = SparseLinear::stride(rows);
        let ConvWorkspace {
            acts,
            delta,
            col,
            sparse: kernels,
            linear,
            padded,
            grad_padded,
            wide,
            at,
            dt,
            gt,
            ..
        } = ws;
        let [d0, d1] = delta;
        let (mut cur, mut next) = (d0, d1);
        // The linear layer.
        let lin = self.linear_layer();
        let (d, o) = (lin.inputs, lin.outputs);
        let a_last = &acts[last - 1][..rows * d];
        let dl = &cur[..rows * o];
        if let Some(kernel) = linear.as_ref().filter(|_| sparse) {
            kernel.load_delta(dl, rows, stride, dt);
            kernel.weight_grad(dt, at, stride, grad);
            column_sums(dl, o, &mut grad[lin.bias.clone()]);
            let nx = &mut next[..rows * d];
            kernel.input_grad(params, dt, stride, rows, gt, nx);
        } else {
            self.linear_backward_dense(params, rows, a_last, dl, grad, &mut next[..rows * d]);
        }
        gate_by(&mut next[..rows * d], a_last);
        std::mem::swap(&mut cur, &mut next);
        // The convolutions, last to first.
        for (l, layer) in self.conv_layers().iter().enumerate().rev() {
            let (in_len, out_len) = (layer.inputs * plane, layer.outputs * plane);
            let input: &[T] = if l == 0 {
                &x[..rows * in_len]
            } else {
                &acts[l - 1][..rows * in_len]
            };
            let dl = &cur[..rows * out_len];
            let Some(kernel) = kernels.get(l).and_then(Option::as_ref).filter(|_| sparse) else {
                self.conv_backward_dense(l, params, rows, input, dl, col, grad, next);
                plane_sums(dl, plane, &mut grad[layer.bias.clone()]);
                if l > 0 {
                    std::mem::swap(&mut cur, &mut next);
                }
                continue;
            };
            for i in 0..rows {
                let image = &input[i * in_len..(i + 1) * in_len];
                kernel.pad(image, padded);
                kernel.widen(&dl[i * out_len..(i + 1) * out_len], wide);
                kernel.weight_grad(wide, padded, i == 0, grad);
                if l > 0 {
                    let nx = &mut next[i * in_len..(i + 1) * in_len];
                    kernel.input_grad(params, wide, grad_padded, nx);
                    gate_by(nx, image);
                }
            }
            plane_sums(dl, plane, &mut grad[layer.bias.clone()]);
            if l > 0 {
                std::mem::swap(&mut cur, &mut next);
            }
        }
    }

    /// The linear layer's dense backward: `∇W_L = δ_Lᵀ flat(A_{L−1})`, `∇b_L`, and
    /// `δ_L W_L` into `nx` (ungated).
    fn linear_backward_dense<T: Scalar>(
        &self,
        params: &[T],
        rows: usize,
        a_last: &[T],
        dl: &[T],
        grad: &mut [T],
        nx: &mut [T],
    ) {
        let lin = self.linear_layer();
        let (d, o) = (lin.inputs, lin.outputs);
        T::gemm(
            o,
            rows,
            d,
            T::ONE,
            (dl, 1, o),
            (a_last, d, 1),
            T::ZERO,
            (&mut grad[lin.weights.clone()], d, 1),
        );
        column_sums(dl, o, &mut grad[lin.bias.clone()]);
        T::gemm(
            rows,
            o,
            d,
            T::ONE,
            (dl, o, 1),
            (&params[lin.weights.clone()], d, 1),
            T::ZERO,
            (nx, d, 1),
        );
    }

    /// Convolution `l`'s dense backward on im2col + GEMM: its kernel gradient into `grad` and,
    /// for `l > 0`, the gated input delta into `next`.
    #[allow(clippy::too_many_arguments)] // Layer, parameters, batch, input, delta, buffers.
    fn conv_backward_dense<T: Scalar>(
        &self,
        l: usize,
        params: &[T],
        rows: usize,
        input: &[T],
        dl: &[T],
        col: &mut [T],
        grad: &mut [T],
        next: &mut [T],
    ) {
        let [_, h, w] = self.in_shape();
        let plane = self.plane();
        let layer = &self.conv_layers()[l];
        let (in_len, out_len) = (layer.inputs * plane, layer.outputs * plane);
        let weights = &params[layer.weights.clone()];
        let gw = &mut grad[layer.weights.clone()];
        if rows == 0 {
            gw.fill(T::ZERO);
        }
        for i in 0..rows {
            let image = &input[i * in_len..(i + 1) * in_len];
            let di = &dl[i * out_len..(i + 1) * out_len];
            let beta = if i == 0 { T::ZERO } else { T::ONE };
            im2col(image, layer.inputs, h, w, col);
            weight_grad_gemm(layer, plane, di, col, beta, gw);
            if l > 0 {
                let nx = &mut next[i * in_len..(i + 1) * in_len];
                input_grad_gemm(layer, plane, weights, di, T::ZERO, col);
                col2im(col, layer.inputs, h, w, nx);
                gate_by(nx, image);
            }
        }
    }

    /// Forward pass into the workspace, through the sparse kernels set by [`Conv::set_mask`]
    /// when `sparse` (else dense throughout); returns the outputs `F` (`rows × o`).
    fn forward_pass<'w, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &'w mut ConvWorkspace<T>,
        sparse: bool,
    ) -> &'w [T] {
        assert!(rows <= ws.capacity, "batch exceeds the workspace capacity");
        assert_eq!(params.len(), self.num_params(), "parameter count");
        let x = &x[..rows * self.input_len()];
        let [_, h, w] = self.in_shape();
        let plane = self.plane();
        let stride = SparseLinear::stride(rows);
        let ConvWorkspace {
            acts,
            col,
            sparse: kernels,
            linear,
            padded,
            wide,
            at,
            ..
        } = ws;
        for (l, layer) in self.conv_layers().iter().enumerate() {
            let (before, rest) = acts.split_at_mut(l);
            let input: &[T] = if l == 0 { x } else { &before[l - 1] };
            let out = &mut rest[0][..rows * layer.outputs * plane];
            let (weights, bias) = (&params[layer.weights.clone()], &params[layer.bias.clone()]);
            let kernel = kernels.get(l).and_then(Option::as_ref).filter(|_| sparse);
            for (image, z) in input
                .chunks_exact(layer.inputs * plane)
                .zip(out.chunks_exact_mut(layer.outputs * plane))
            {
                match kernel {
                    Some(kernel) => {
                        kernel.pad(image, padded);
                        kernel.forward(params, padded, wide, z);
                    }
                    None => {
                        im2col(image, layer.inputs, h, w, col);
                        conv_gemm(layer, plane, weights, col, T::ZERO, z);
                    }
                }
                bias_relu_planes(z, bias, plane);
            }
        }
        let last = self.depth() - 1;
        let lin = self.linear_layer();
        let (before, rest) = acts.split_at_mut(last);
        let out = &mut rest[0][..rows * lin.outputs];
        let input = &before[last - 1][..rows * lin.inputs];
        match linear.as_ref().filter(|_| sparse) {
            Some(kernel) => {
                kernel.load_input(input, rows, stride, at);
                kernel.forward(params, at, stride, rows, out);
            }
            None => T::gemm(
                rows,
                lin.inputs,
                lin.outputs,
                T::ONE,
                (input, lin.inputs, 1),
                (&params[lin.weights.clone()], 1, lin.inputs),
                T::ZERO,
                (out, lin.outputs, 1),
            ),
        }
        add_rows(out, &params[lin.bias.clone()]);
        &ws.acts[last][..rows * self.outputs()]
    }
}

impl Model for Conv {
    type Workspace<T: Scalar> = ConvWorkspace<T>;

    /// `Σ_l (C_l·K_l + C_l) + o·N·H·W + o` (347,082 for the paper's CIFAR network).
    fn num_params(&self) -> usize {
        self.linear_layer().bias.end
    }

    /// `C·H·W`.
    fn input_len(&self) -> usize {
        self.in_shape().iter().product()
    }

    /// The classes `o`.
    fn outputs(&self) -> usize {
        self.linear_layer().outputs
    }

    fn loss(&self) -> Loss {
        self.loss
    }

    /// Every kernel and the linear weight, not the biases.
    fn weight_layers(&self) -> Vec<std::ops::Range<usize>> {
        self.layers().iter().map(|l| l.weights.clone()).collect()
    }

    /// PyTorch's `Conv2d` / `Linear` default init (module docs), in `f64`; convert with
    /// [`Scalar::from_f64`] to train in `f32`.
    fn init_params(&self, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = Vec::with_capacity(self.num_params());
        for layer in self.layers() {
            let b = 1.0 / (layer.fan_in as f64).sqrt();
            for _ in layer.weights.start..layer.bias.end {
                params.push(rng.random_range(-b..b));
            }
        }
        params
    }

    /// `Σ_l C_l·K_l·H·W + o·N·H·W` (20,086,784 for the paper's CIFAR network).
    fn macs_per_point(&self) -> usize {
        let plane = self.plane();
        self.conv_layers()
            .iter()
            .map(|l| l.outputs * l.fan_in * plane)
            .sum::<usize>()
            + self.linear_layer().weights.len()
    }

    fn activations_per_point(&self) -> usize {
        self.conv_layers().len() * self.channels() * self.plane() + self.outputs()
    }

    fn workspace<T: Scalar>(&self, capacity: usize) -> ConvWorkspace<T> {
        ConvWorkspace::new(self, capacity)
    }

    fn set_mask<T: Scalar>(
        &self,
        mask: Option<&[bool]>,
        sparse_below: SparseBelow,
        ws: &mut ConvWorkspace<T>,
    ) {
        let [_, h, w] = self.in_shape();
        let sparse = |l: &ConvLayer, mask: &[bool], below: f64| {
            let kept = mask[l.weights.clone()].iter().filter(|&&k| k).count();
            runs_sparse(kept, l.weights.len(), below)
        };
        let (convs, linear) = match mask {
            None => (Vec::new(), None),
            Some(mask) => {
                assert_eq!(mask.len(), self.num_params(), "mask length");
                let convs = self
                    .conv_layers()
                    .iter()
                    .map(|l| {
                        sparse(l, mask, sparse_below.conv).then(|| {
                            SparseConv::new(l.inputs, l.outputs, [h, w], l.weights.start, mask)
                        })
                    })
                    .collect();
                let lin = self.linear_layer();
                let linear = sparse(lin, mask, sparse_below.linear)
                    .then(|| SparseLinear::new(lin.inputs, lin.outputs, lin.weights.start, mask));
                (convs, linear)
            }
        };
        let any_conv = convs.iter().any(Option::is_some);
        let max_in = self
            .conv_layers()
            .iter()
            .map(|l| l.inputs)
            .max()
            .unwrap_or(1);
        let planes = if any_conv {
            max_in.max(self.channels())
        } else {
            0
        };
        ws.padded = vec![T::ZERO; planes * SparseConv::padded_len(h, w)];
        ws.grad_padded = ws.padded.clone();
        ws.wide = vec![T::ZERO; planes * SparseConv::wide_len(h, w)];
        let stride = ws.stride();
        let lin = self.linear_layer();
        let (d, o) = if linear.is_some() {
            (lin.inputs, lin.outputs)
        } else {
            (0, 0)
        };
        ws.at = vec![T::ZERO; d * stride];
        ws.gt = vec![T::ZERO; d * stride];
        ws.dt = vec![T::ZERO; o * stride];
        ws.sparse = convs;
        ws.linear = linear;
    }

    /// Forward pass of `rows` inputs (point-major `x`, at least `rows · C·H·W` values) into the
    /// workspace; returns the outputs `F` (`rows × o`).
    ///
    /// # Panics
    /// If `rows` exceeds the workspace capacity or a slice is too short.
    fn forward<'w, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &'w mut ConvWorkspace<T>,
    ) -> &'w [T] {
        self.forward_pass(params, x, rows, ws, true)
    }

    /// Mean loss `L(θ)` on `batch` (outputs divided by `temperature`) and its gradient into
    /// `grad` (index order); per-point losses stay in the workspace.
    ///
    /// # Panics
    /// If the batch exceeds the workspace capacity or a slice has the wrong length.
    fn gradient<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        ws: &mut ConvWorkspace<T>,
        grad: &mut [T],
    ) -> f64 {
        assert_eq!(grad.len(), self.num_params(), "gradient length");
        let (x, rows) = (batch.x(), batch.rows());
        let inv_t = 1.0 / temperature;
        let scale = T::from_f64(inv_t / rows as f64);
        self.forward_pass(params, x, rows, ws, true);
        let total = self.output_delta(batch.targets(), rows, T::from_f64(inv_t), scale, ws);
        self.backward(params, x, rows, ws, grad, true);
        total / rows as f64
    }

    /// Hessian-vector product `H v` of the mean loss on `batch` (outputs divided by
    /// `temperature`) at `params`, by the R-operator (module docs), into `out`.
    ///
    /// # Panics
    /// If the batch exceeds the workspace capacity or a vector has the wrong length.
    fn hvp<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        v: &[T],
        ws: &mut ConvWorkspace<T>,
        out: &mut [T],
    ) {
        let p = self.num_params();
        assert!(v.len() == p && out.len() == p, "hvp: vector length");
        ws.ensure_hvp();
        let (x, rows) = (batch.x(), batch.rows());
        let inv_t64 = 1.0 / temperature;
        let inv_t = T::from_f64(inv_t64);
        let scale = T::from_f64(inv_t64 / rows as f64);
        let curvature = T::from_f64(inv_t64 * inv_t64 / rows as f64);
        self.forward_pass(params, x, rows, ws, false);
        self.output_delta(batch.targets(), rows, inv_t, scale, ws);
        let x = &x[..rows * self.input_len()];
        let [_, h, w] = self.in_shape();
        let plane = self.plane();
        let last = self.depth() - 1;
        let ConvWorkspace {
            acts,
            delta,
            col,
            r_acts,
            r_delta,
            ..
        } = ws;
        // R-forward through the convolutions.
        for (l, layer) in self.conv_layers().iter().enumerate() {
            let (in_len, out_len) = (layer.inputs * plane, layer.outputs * plane);
            let input: &[T] = if l == 0 {
                x
            } else {
                &acts[l - 1][..rows * in_len]
            };
            let (before, rest) = r_acts.split_at_mut(l);
            let r_out = &mut rest[0][..rows * out_len];
            let (weights, vw, vb) = (
                &params[layer.weights.clone()],
                &v[layer.weights.clone()],
                &v[layer.bias.clone()],
            );
            for (i, ((image, rz), a)) in input
                .chunks_exact(in_len)
                .zip(r_out.chunks_exact_mut(out_len))
                .zip(acts[l].chunks_exact(out_len))
                .enumerate()
            {
                im2col(image, layer.inputs, h, w, col);
                conv_gemm(layer, plane, vw, col, T::ZERO, rz);
                if l > 0 {
                    let r_image = &before[l - 1][i * in_len..(i + 1) * in_len];
                    im2col(r_image, layer.inputs, h, w, col);
                    conv_gemm(layer, plane, weights, col, T::ONE, rz);
                }
                add_planes(rz, vb, plane);
                gate_by(rz, a);
            }
        }
        // R-forward through the linear layer.
        let lin = self.linear_layer();
        let (d, o) = (lin.inputs, lin.outputs);
        let a_last = &acts[last - 1][..rows * d];
        let (before, rest) = r_acts.split_at_mut(last);
        let r_a_last = &before[last - 1][..rows * d];
        let rf = &mut rest[0][..rows * o];
        let (w_lin, v_lin) = (&params[lin.weights.clone()], &v[lin.weights.clone()]);
        T::gemm(
            rows,
            d,
            o,
            T::ONE,
            (a_last, d, 1),
            (v_lin, 1, d),
            T::ZERO,
            (rf, o, 1),
        );
        T::gemm(
            rows,
            d,
            o,
            T::ONE,
            (r_a_last, d, 1),
            (w_lin, 1, d),
            T::ONE,
            (rf, o, 1),
        );
        add_rows(rf, &v[lin.bias.clone()]);
        self.loss().r_head(
            &acts[last][..rows * o],
            rf,
            o,
            inv_t,
            curvature,
            &mut r_delta[0][..rows * o],
        );
        // R-backward through the linear layer.
        let [d0, d1] = delta;
        let [r0, r1] = r_delta;
        let (mut cur, mut next, mut r_cur, mut r_next) = (d0, d1, r0, r1);
        {
            let dl = &cur[..rows * o];
            let rdl = &r_cur[..rows * o];
            let hw = &mut out[lin.weights.clone()];
            T::gemm(
                o,
                rows,
                d,
                T::ONE,
                (rdl, 1, o),
                (a_last, d, 1),
                T::ZERO,
                (hw, d, 1),
            );
            T::gemm(
                o,
                rows,
                d,
                T::ONE,
                (dl, 1, o),
                (r_a_last, d, 1),
                T::ONE,
                (hw, d, 1),
            );
            column_sums(rdl, o, &mut out[lin.bias.clone()]);
            let rnx = &mut r_next[..rows * d];
            T::gemm(
                rows,
                o,
                d,
                T::ONE,
                (rdl, o, 1),
                (w_lin, d, 1),
                T::ZERO,
                (rnx, d, 1),
            );
            T::gemm(
                rows,
                o,
                d,
                T::ONE,
                (dl, o, 1),
                (v_lin, d, 1),
                T::ONE,
                (rnx, d, 1),
            );
            gate_by(rnx, a_last);
            let nx = &mut next[..rows * d];
            T::gemm(
                rows,
                o,
                d,
                T::ONE,
                (dl, o, 1),
                (w_lin, d, 1),
                T::ZERO,
                (nx, d, 1),
            );
            gate_by(nx, a_last);
        }
        std::mem::swap(&mut cur, &mut next);
        std::mem::swap(&mut r_cur, &mut r_next);
        // R-backward through the convolutions, last to first.
        for (l, layer) in self.conv_layers().iter().enumerate().rev() {
            let (in_len, out_len) = (layer.inputs * plane, layer.outputs * plane);
            let input: &[T] = if l == 0 {
                x
            } else {
                &acts[l - 1][..rows * in_len]
            };
            let dl = &cur[..rows * out_len];
            let rdl = &r_cur[..rows * out_len];
            let (weights, vw) = (&params[layer.weights.clone()], &v[layer.weights.clone()]);
            let hw = &mut out[layer.weights.clone()];
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
                im2col(image, layer.inputs, h, w, col);
                weight_grad_gemm(layer, plane, rdi, col, beta, hw);
                if l > 0 {
                    let r_image = &r_acts[l - 1][i * in_len..(i + 1) * in_len];
                    im2col(r_image, layer.inputs, h, w, col);
                    weight_grad_gemm(layer, plane, di, col, T::ONE, hw);
                    let rnx = &mut r_next[i * in_len..(i + 1) * in_len];
                    input_grad_gemm(layer, plane, weights, rdi, T::ZERO, col);
                    input_grad_gemm(layer, plane, vw, di, T::ONE, col);
                    col2im(col, layer.inputs, h, w, rnx);
                    gate_by(rnx, image);
                    let nx = &mut next[i * in_len..(i + 1) * in_len];
                    input_grad_gemm(layer, plane, weights, di, T::ZERO, col);
                    col2im(col, layer.inputs, h, w, nx);
                    gate_by(nx, image);
                }
            }
            plane_sums(rdl, plane, &mut out[layer.bias.clone()]);
            if l > 0 {
                std::mem::swap(&mut cur, &mut next);
                std::mem::swap(&mut r_cur, &mut r_next);
            }
        }
    }

    /// Gradient of SynFlow's objective `S = Σ_o f_o(1)` (all-ones input of shape `C × H × W`)
    /// at `params` into `out`; returns `S`. Data-free; `relu'(z) = 1[z > 0]`.
    fn synflow_gradient<T: Scalar>(
        &self,
        params: &[T],
        ws: &mut ConvWorkspace<T>,
        out: &mut [T],
    ) -> f64 {
        assert_eq!(out.len(), self.num_params(), "gradient length");
        let ones = std::mem::take(&mut ws.ones);
        let s = self
            .forward_pass(params, &ones, 1, ws, false)
            .iter()
            .map(|v| v.to_f64())
            .sum();
        ws.delta[0][..self.outputs()].fill(T::ONE);
        self.backward(params, &ones, 1, ws, out, false);
        ws.ones = ones;
        s
    }
}
