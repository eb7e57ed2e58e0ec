//! Forward pass, backprop and the R-operator Hessian-vector product of [`Mlp`] on GEMM, with
//! the formulas of the [module docs](super); data as row-per-point matrices.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Mlp;
use crate::model::activation::{column_sums, gate_by, relu};
use crate::model::sparse::{runs_sparse, SparseBelow, SparseLinear};
use crate::model::{Batch, Loss, Model, ModelWorkspace, Scalar, TargetsRef};

/// Buffers for batches of up to `capacity` rows, sized once: activations of every layer,
/// two delta buffers, per-point losses, (allocated on the first [`Mlp::hvp`]) their
/// R-operator counterparts, and (allocated by [`Mlp::set_mask`]) the sparse layers' kernels
/// and feature-major buffers.
#[derive(Clone, Debug)]
pub struct MlpWorkspace<T> {
    capacity: usize,
    /// `acts[l]`: output of layer `l` (`A_{l+1}`, the last is `F`), `capacity × w_{l+1}`.
    acts: Vec<Vec<T>>,
    delta: [Vec<T>; 2],
    r_acts: Vec<Vec<T>>,
    r_delta: [Vec<T>; 2],
    point_loss: Vec<T>,
    ones: Vec<T>,
    /// Per layer, its sparse kernel when the mask runs it sparse (empty: dense network).
    sparse: Vec<Option<SparseLinear>>,
    /// Per sparse layer, its input feature-major (`fan_in × stride`); empty for dense layers.
    at: Vec<Vec<T>>,
    /// A layer's delta feature-major (`max width × stride`).
    dt: Vec<T>,
    /// A layer's input gradient feature-major (`max width × stride`).
    gt: Vec<T>,
}

impl<T: Scalar> MlpWorkspace<T> {
    /// Buffers for `mlp` and batches of up to `capacity` rows (at least 1).
    pub fn new(mlp: &Mlp, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let wide = capacity * mlp.max_width();
        MlpWorkspace {
            capacity,
            acts: mlp
                .layers()
                .iter()
                .map(|l| vec![T::ZERO; capacity * l.outputs])
                .collect(),
            delta: [vec![T::ZERO; wide], vec![T::ZERO; wide]],
            r_acts: Vec::new(),
            r_delta: [Vec::new(), Vec::new()],
            point_loss: vec![T::ZERO; capacity],
            ones: vec![T::ONE; mlp.input_dim()],
            sparse: Vec::new(),
            at: Vec::new(),
            dt: Vec::new(),
            gt: Vec::new(),
        }
    }

    /// Layer `l`'s sparse kernel, if it runs one.
    fn kernel(&self, l: usize) -> Option<&SparseLinear> {
        self.sparse.get(l).and_then(Option::as_ref)
    }

    /// Stride of the feature-major buffers.
    fn stride(&self) -> usize {
        SparseLinear::stride(self.capacity)
    }

    fn ensure_hvp(&mut self) {
        if self.r_acts.is_empty() {
            self.r_acts = self.acts.clone();
            self.r_delta = self.delta.clone();
        }
    }
}

impl<T: Scalar> ModelWorkspace<T> for MlpWorkspace<T> {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn point_losses(&self) -> &[T] {
        &self.point_loss
    }

    fn head_buffers(&mut self, rows: usize) -> (&[T], &mut [T], &mut [T]) {
        let o = self.acts.last().map_or(0, |a| a.len() / self.capacity);
        let f = self.acts.last().map_or(&[][..], |a| &a[..rows * o]);
        (
            f,
            &mut self.delta[0][..rows * o],
            &mut self.point_loss[..rows],
        )
    }
}

/// Adds `b` to every row of `m` and, when `hidden`, applies ReLU (one fused pass).
#[inline(always)]
fn bias_relu<T: Scalar>(m: &mut [T], b: &[T], hidden: bool) {
    let cols = b.len();
    if hidden {
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

impl Mlp {
    /// The loss head on the last forward pass's outputs (`δ_L` into `ws.delta[0]`, per-point
    /// losses); returns their sum.
    fn output_delta<T: Scalar>(
        &self,
        targets: TargetsRef<'_, T>,
        rows: usize,
        inv_t: T,
        scale: T,
        ws: &mut MlpWorkspace<T>,
    ) -> f64 {
        let (f, delta, point_loss) = ws.head_buffers(rows);
        self.loss()
            .head(f, targets, self.outputs(), inv_t, scale, delta, point_loss)
    }

    /// Forward pass into the workspace, through the sparse kernels set by [`Mlp::set_mask`]
    /// when `sparse` (else dense throughout); returns the outputs `F` (`rows × o`).
    fn forward_pass<'w, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &'w mut MlpWorkspace<T>,
        sparse: bool,
    ) -> &'w [T] {
        assert!(rows <= ws.capacity, "batch exceeds the workspace capacity");
        assert_eq!(params.len(), self.num_params(), "parameter count");
        let x = &x[..rows * self.input_dim()];
        let last = self.layers().len() - 1;
        let stride = SparseLinear::stride(rows);
        let MlpWorkspace {
            acts,
            sparse: kernels,
            at,
            ..
        } = ws;
        for (l, layer) in self.layers().iter().enumerate() {
            let (before, rest) = acts.split_at_mut(l);
            let input: &[T] = if l == 0 { x } else { &before[l - 1] };
            let out = &mut rest[0][..rows * layer.outputs];
            match kernels.get(l).and_then(Option::as_ref).filter(|_| sparse) {
                Some(kernel) => {
                    kernel.load_input(input, rows, stride, &mut at[l]);
                    kernel.forward(params, &at[l], stride, rows, out);
                }
                None => T::gemm(
                    rows,
                    layer.inputs,
                    layer.outputs,
                    T::ONE,
                    (input, layer.inputs, 1),
                    (&params[layer.weights.clone()], 1, layer.inputs),
                    T::ZERO,
                    (out, layer.outputs, 1),
                ),
            }
            bias_relu(out, &params[layer.bias.clone()], l < last);
        }
        &ws.acts[last][..rows * self.outputs()]
    }

    /// Backward pass from `δ_L` in `ws.delta[0]`: the gradient into `grad` (index order),
    /// through the sparse kernels when `sparse` (after a sparse [`Mlp::forward_pass`] of the
    /// same batch).
    fn backward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut MlpWorkspace<T>,
        grad: &mut [T],
        sparse: bool,
    ) {
        let stride = SparseLinear::stride(rows);
        let MlpWorkspace {
            acts,
            delta,
            sparse: kernels,
            at,
            dt,
            gt,
            ..
        } = ws;
        let [d0, d1] = delta;
        let (mut cur, mut next) = (d0, d1);
        for (l, layer) in self.layers().iter().enumerate().rev() {
            let (fan_in, fan_out) = (layer.inputs, layer.outputs);
            let input: &[T] = if l == 0 {
                &x[..rows * fan_in]
            } else {
                &acts[l - 1][..rows * fan_in]
            };
            let dl = &cur[..rows * fan_out];
            if let Some(kernel) = kernels.get(l).and_then(Option::as_ref).filter(|_| sparse) {
                kernel.load_delta(dl, rows, stride, dt);
                kernel.weight_grad(dt, &at[l], stride, grad);
                column_sums(dl, fan_out, &mut grad[layer.bias.clone()]);
                if l > 0 {
                    let nx = &mut next[..rows * fan_in];
                    kernel.input_grad(params, dt, stride, rows, gt, nx);
                    gate_by(nx, input);
                    std::mem::swap(&mut cur, &mut next);
                }
                continue;
            }
            T::gemm(
                fan_out,
                rows,
                fan_in,
                T::ONE,
                (dl, 1, fan_out),
                (input, fan_in, 1),
                T::ZERO,
                (&mut grad[layer.weights.clone()], fan_in, 1),
            );
            column_sums(dl, fan_out, &mut grad[layer.bias.clone()]);
            if l > 0 {
                let nx = &mut next[..rows * fan_in];
                T::gemm(
                    rows,
                    fan_out,
                    fan_in,
                    T::ONE,
                    (dl, fan_out, 1),
                    (&params[layer.weights.clone()], fan_in, 1),
                    T::ZERO,
                    (nx, fan_in, 1),
                );
                gate_by(nx, input);
                std::mem::swap(&mut cur, &mut next);
            }
        }
    }
}

impl Model for Mlp {
    type Workspace<T: Scalar> = MlpWorkspace<T>;

    /// `p = Σ_l (w_l · w_{l−1} + w_l)`.
    fn num_params(&self) -> usize {
        self.layers().last().map_or(0, |l| l.bias.end)
    }

    fn input_len(&self) -> usize {
        self.input_dim()
    }

    fn outputs(&self) -> usize {
        self.widths()[self.widths().len() - 1]
    }

    fn loss(&self) -> Loss {
        self.loss
    }

    /// Every layer's `W_l`, the output layer's included.
    fn weight_layers(&self) -> Vec<std::ops::Range<usize>> {
        self.layers().iter().map(|l| l.weights.clone()).collect()
    }

    /// PyTorch's `nn.Linear` default init (module docs), in `f64`; convert with
    /// [`Scalar::from_f64`] to train in `f32`.
    fn init_params(&self, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = Vec::with_capacity(self.num_params());
        for layer in self.layers() {
            let b = 1.0 / (layer.inputs as f64).sqrt();
            for _ in 0..layer.bias.end - layer.weights.start {
                params.push(rng.random_range(-b..b));
            }
        }
        params
    }

    /// `Σ_l w_l · w_{l−1}`.
    fn macs_per_point(&self) -> usize {
        self.layers().iter().map(|l| l.inputs * l.outputs).sum()
    }

    fn activations_per_point(&self) -> usize {
        self.layers().iter().map(|l| l.outputs).sum()
    }

    fn workspace<T: Scalar>(&self, capacity: usize) -> MlpWorkspace<T> {
        MlpWorkspace::new(self, capacity)
    }

    fn set_mask<T: Scalar>(
        &self,
        mask: Option<&[bool]>,
        sparse_below: SparseBelow,
        ws: &mut MlpWorkspace<T>,
    ) {
        ws.sparse = match mask {
            None => Vec::new(),
            Some(mask) => {
                assert_eq!(mask.len(), self.num_params(), "mask length");
                self.layers()
                    .iter()
                    .map(|l| {
                        let kept = mask[l.weights.clone()].iter().filter(|&&k| k).count();
                        runs_sparse(kept, l.weights.len(), sparse_below.linear)
                            .then(|| SparseLinear::new(l.inputs, l.outputs, l.weights.start, mask))
                    })
                    .collect()
            }
        };
        let stride = ws.stride();
        ws.at = self
            .layers()
            .iter()
            .enumerate()
            .map(|(l, layer)| match ws.kernel(l) {
                Some(_) => vec![T::ZERO; layer.inputs * stride],
                None => Vec::new(),
            })
            .collect();
        let any = ws.sparse.iter().any(Option::is_some);
        let wide = if any { self.max_width() * stride } else { 0 };
        ws.dt = vec![T::ZERO; wide];
        ws.gt = vec![T::ZERO; wide];
    }

    /// Forward pass of `rows` inputs (point-major `x`, at least `rows · d` values) into the
    /// workspace; returns the outputs `F` (`rows × o`).
    ///
    /// # Panics
    /// If `rows` exceeds the workspace capacity or a slice is too short.
    fn forward<'w, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &'w mut MlpWorkspace<T>,
    ) -> &'w [T] {
        self.forward_pass(params, x, rows, ws, true)
    }

    /// Mean loss `L(θ)` on `batch` (outputs divided by `temperature`) and its gradient into
    /// `grad` (index order); per-point losses stay in the workspace.
    ///
    /// # Panics
    /// If the batch exceeds the workspace capacity or `grad` has the wrong length.
    fn gradient<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        ws: &mut MlpWorkspace<T>,
        grad: &mut [T],
    ) -> f64 {
        assert_eq!(grad.len(), self.num_params(), "gradient length");
        let rows = batch.rows();
        let inv_t = 1.0 / temperature;
        let scale = T::from_f64(inv_t / rows as f64);
        self.forward_pass(params, batch.x(), rows, ws, true);
        let total = self.output_delta(batch.targets(), rows, T::from_f64(inv_t), scale, ws);
        self.backward(params, batch.x(), rows, ws, grad, true);
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
        ws: &mut MlpWorkspace<T>,
        out: &mut [T],
    ) {
        let p = self.num_params();
        assert!(v.len() == p && out.len() == p, "hvp: vector length");
        ws.ensure_hvp();
        let rows = batch.rows();
        let inv_t64 = 1.0 / temperature;
        let inv_t = T::from_f64(inv_t64);
        let scale = T::from_f64(inv_t64 / rows as f64);
        let curvature = T::from_f64(inv_t64 * inv_t64 / rows as f64);
        self.forward_pass(params, batch.x(), rows, ws, false);
        self.output_delta(batch.targets(), rows, inv_t, scale, ws);
        let x = &batch.x()[..rows * self.input_dim()];
        let last = self.layers().len() - 1;
        let MlpWorkspace {
            acts,
            delta,
            r_acts,
            r_delta,
            ..
        } = ws;
        // R-forward.
        for (l, layer) in self.layers().iter().enumerate() {
            let (fan_in, fan_out) = (layer.inputs, layer.outputs);
            let input: &[T] = if l == 0 {
                x
            } else {
                &acts[l - 1][..rows * fan_in]
            };
            let (before, rest) = r_acts.split_at_mut(l);
            let r_out = &mut rest[0][..rows * fan_out];
            T::gemm(
                rows,
                fan_in,
                fan_out,
                T::ONE,
                (input, fan_in, 1),
                (&v[layer.weights.clone()], 1, fan_in),
                T::ZERO,
                (r_out, fan_out, 1),
            );
            if l > 0 {
                T::gemm(
                    rows,
                    fan_in,
                    fan_out,
                    T::ONE,
                    (&before[l - 1][..rows * fan_in], fan_in, 1),
                    (&params[layer.weights.clone()], 1, fan_in),
                    T::ONE,
                    (r_out, fan_out, 1),
                );
            }
            bias_relu(r_out, &v[layer.bias.clone()], false);
            if l < last {
                gate_by(r_out, &acts[l][..rows * fan_out]);
            }
        }
        // R{δ_L} = ∇²ℓ(U) R{F} · inv_t² / rows.
        let o = self.outputs();
        let f = &acts[last][..rows * o];
        let rf = &r_acts[last][..rows * o];
        let rd = &mut r_delta[0][..rows * o];
        self.loss().r_head(f, rf, o, inv_t, curvature, rd);
        // R-backward.
        let [d0, d1] = delta;
        let [r0, r1] = r_delta;
        let (mut cur, mut next, mut r_cur, mut r_next) = (d0, d1, r0, r1);
        for (l, layer) in self.layers().iter().enumerate().rev() {
            let (fan_in, fan_out) = (layer.inputs, layer.outputs);
            let input: &[T] = if l == 0 {
                x
            } else {
                &acts[l - 1][..rows * fan_in]
            };
            let dl = &cur[..rows * fan_out];
            let rdl = &r_cur[..rows * fan_out];
            let hw = &mut out[layer.weights.clone()];
            T::gemm(
                fan_out,
                rows,
                fan_in,
                T::ONE,
                (rdl, 1, fan_out),
                (input, fan_in, 1),
                T::ZERO,
                (hw, fan_in, 1),
            );
            if l > 0 {
                let r_in = &r_acts[l - 1][..rows * fan_in];
                T::gemm(
                    fan_out,
                    rows,
                    fan_in,
                    T::ONE,
                    (dl, 1, fan_out),
                    (r_in, fan_in, 1),
                    T::ONE,
                    (hw, fan_in, 1),
                );
            }
            column_sums(rdl, fan_out, &mut out[layer.bias.clone()]);
            if l > 0 {
                let w = &params[layer.weights.clone()];
                let vw = &v[layer.weights.clone()];
                let rnx = &mut r_next[..rows * fan_in];
                T::gemm(
                    rows,
                    fan_out,
                    fan_in,
                    T::ONE,
                    (rdl, fan_out, 1),
                    (w, fan_in, 1),
                    T::ZERO,
                    (rnx, fan_in, 1),
                );
                T::gemm(
                    rows,
                    fan_out,
                    fan_in,
                    T::ONE,
                    (dl, fan_out, 1),
                    (vw, fan_in, 1),
                    T::ONE,
                    (rnx, fan_in, 1),
                );
                gate_by(rnx, input);
                let nx = &mut next[..rows * fan_in];
                T::gemm(
                    rows,
                    fan_out,
                    fan_in,
                    T::ONE,
                    (dl, fan_out, 1),
                    (w, fan_in, 1),
                    T::ZERO,
                    (nx, fan_in, 1),
                );
                gate_by(nx, input);
                std::mem::swap(&mut cur, &mut next);
                std::mem::swap(&mut r_cur, &mut r_next);
            }
        }
    }

    /// Gradient of SynFlow's objective `S = Σ_o f_o(1)` (all-ones input) at `params` into
    /// `out`; returns `S`. Data-free; `relu'(z) = 1[z > 0]`.
    fn synflow_gradient<T: Scalar>(
        &self,
        params: &[T],
        ws: &mut MlpWorkspace<T>,
        out: &mut [T],
    ) -> f64 {
        assert_eq!(out.len(), self.num_params(), "gradient length");
        let ones = std::mem::take(&mut ws.ones);
        let s = self
            .forward_pass(params, &ones, 1, ws, false)
            .iter()
            .map(|v| v.to_f64())
            .sum();
        let o = self.outputs();
        ws.delta[0][..o].fill(T::ONE);
        self.backward(params, &ones, 1, ws, out, false);
        ws.ones = ones;
        s
    }
}
