//! Forward pass, backprop and the R-operator Hessian-vector product of [`Conv`], with the
//! formulas and layout of the [module docs](super): a sequence of
//! [`Conv3x3`](crate::model::layers::Conv3x3) layer calls (ReLU) and one
//! [`Dense`](crate::model::layers::Dense) call over the buffers of a [`ConvWorkspace`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Conv;
use crate::model::layers::{
    r_backward_chain, synflow_gradient, Backprop, SparseConv3x3, SparseDense,
};
use crate::model::sparse::{SparseBelow, SparseConv, SparseLinear};
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

/// Convolution `l`'s sparse path (its kernel and one image's padded and wide planes) when
/// `sparse` and the mask runs it sparse; `None`: im2col + GEMM.
fn conv_path<'a, T>(
    kernels: &'a [Option<SparseConv>],
    padded: &'a mut [T],
    grad_padded: &'a mut [T],
    wide: &'a mut [T],
    l: usize,
    sparse: bool,
) -> Option<SparseConv3x3<'a, T>> {
    let kernel = kernels.get(l)?.as_ref().filter(|_| sparse)?;
    Some(SparseConv3x3 {
        kernel,
        padded,
        grad_padded,
        wide,
    })
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
}

impl Backprop for Conv {
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
        let ConvWorkspace {
            acts,
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
        for (l, layer) in self.conv_spans().iter().enumerate() {
            let (before, rest) = acts.split_at_mut(l);
            let input: &[T] = if l == 0 { x } else { &before[l - 1] };
            let path = conv_path(kernels, padded, grad_padded, wide, l, sparse);
            layer.forward(params, input, rows, &mut rest[0], true, col, path);
        }
        let last = self.depth() - 1;
        let (before, rest) = acts.split_at_mut(last);
        let path = linear
            .as_ref()
            .filter(|_| sparse)
            .map(|kernel| SparseDense { kernel, at, dt, gt });
        let head = self.linear_span();
        head.forward(params, &before[last - 1], rows, &mut rest[0], false, path);
        &ws.acts[last][..rows * self.outputs()]
    }

    fn backward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut ConvWorkspace<T>,
        grad: &mut [T],
        sparse: bool,
    ) {
        let last = self.depth() - 1;
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
        let path = linear
            .as_ref()
            .filter(|_| sparse)
            .map(|kernel| SparseDense { kernel, at, dt, gt });
        let head = self.linear_span();
        let input = &acts[last - 1];
        head.backward(params, input, cur, rows, grad, Some(next), path);
        std::mem::swap(&mut cur, &mut next);
        // The convolutions, last to first.
        for (l, layer) in self.conv_spans().iter().enumerate().rev() {
            let input: &[T] = if l == 0 { x } else { &acts[l - 1] };
            let path = conv_path(kernels, padded, grad_padded, wide, l, sparse);
            let input_grad = (l > 0).then_some(&mut next[..]);
            layer.backward(params, input, cur, rows, grad, input_grad, col, path);
            if l > 0 {
                std::mem::swap(&mut cur, &mut next);
            }
        }
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
        let (convs, linear) = match mask {
            None => (Vec::new(), None),
            Some(mask) => {
                assert_eq!(mask.len(), self.num_params(), "mask length");
                let convs = self
                    .conv_spans()
                    .iter()
                    .map(|l| l.sparse_kernel(mask, sparse_below.conv))
                    .collect();
                let linear = self.linear_span().sparse_kernel(mask, sparse_below.linear);
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
        for (l, layer) in self.conv_spans().iter().enumerate() {
            let input: &[T] = if l == 0 { x } else { &acts[l - 1] };
            let (before, rest) = r_acts.split_at_mut(l);
            let r_input = (l > 0).then(|| &before[l - 1][..]);
            let r_out = &mut rest[0];
            layer.r_forward(params, v, input, r_input, rows, r_out, Some(&acts[l]), col);
        }
        // R-forward through the linear layer.
        let head = self.linear_span();
        let o = head.outputs;
        let a_last = &acts[last - 1][..];
        let (before, rest) = r_acts.split_at_mut(last);
        let r_a_last = &before[last - 1][..];
        head.r_forward(params, v, a_last, Some(r_a_last), rows, &mut rest[0], None);
        self.loss().r_head(
            &acts[last][..rows * o],
            &rest[0][..rows * o],
            o,
            inv_t,
            curvature,
            &mut r_delta[0][..rows * o],
        );
        // R-backward through the linear layer.
        let [d0, d1] = delta;
        let [r0, r1] = r_delta;
        let (mut cur, mut next, mut r_cur, mut r_next) = (d0, d1, r0, r1);
        head.r_backward(
            params,
            v,
            a_last,
            Some(r_a_last),
            cur,
            r_cur,
            rows,
            out,
            Some((&mut r_next[..], &mut next[..])),
        );
        std::mem::swap(&mut cur, &mut next);
        std::mem::swap(&mut r_cur, &mut r_next);
        // R-backward through the convolutions, last to first.
        let convs = self.conv_spans();
        r_backward_chain(
            convs.len(),
            x,
            acts,
            r_acts,
            [cur, next],
            [r_cur, r_next],
            |l, input, r_input, delta, r_delta, input_grads| {
                convs[l].r_backward(
                    params,
                    v,
                    input,
                    r_input,
                    delta,
                    r_delta,
                    rows,
                    out,
                    input_grads,
                    col,
                );
            },
        );
    }

    fn synflow_gradient<T: Scalar>(
        &self,
        params: &[T],
        ws: &mut ConvWorkspace<T>,
        out: &mut [T],
    ) -> f64 {
        synflow_gradient(self, params, ws, out)
    }
}
