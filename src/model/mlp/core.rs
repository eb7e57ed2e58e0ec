//! Forward pass, backprop and the R-operator Hessian-vector product of [`Mlp`], with the
//! formulas of the [module docs](super): a sequence of [`Dense`](crate::model::layers::Dense)
//! layer calls (ReLU on every layer but the last) over the buffers of an [`MlpWorkspace`]; data
//! as row-per-point matrices.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Mlp;
use crate::model::layers::{r_backward_chain, synflow_gradient, Backprop, SparseDense};
use crate::model::sparse::{SparseBelow, SparseLinear};
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

/// Layer `l`'s sparse path (its kernel and the feature-major buffers) when `sparse` and the
/// mask runs it sparse; `None`: the dense GEMMs.
fn sparse_path<'a, T>(
    kernels: &'a [Option<SparseLinear>],
    at: &'a mut [Vec<T>],
    dt: &'a mut [T],
    gt: &'a mut [T],
    l: usize,
    sparse: bool,
) -> Option<SparseDense<'a, T>> {
    let kernel = kernels.get(l)?.as_ref().filter(|_| sparse)?;
    Some(SparseDense {
        kernel,
        at: &mut at[l],
        dt,
        gt,
    })
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
}

impl Backprop for Mlp {
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
        let MlpWorkspace {
            acts,
            sparse: kernels,
            at,
            dt,
            gt,
            ..
        } = ws;
        for (l, layer) in self.layers().iter().enumerate() {
            let (before, rest) = acts.split_at_mut(l);
            let input: &[T] = if l == 0 { x } else { &before[l - 1] };
            let path = sparse_path(kernels, at, dt, gt, l, sparse);
            layer.forward(params, input, rows, &mut rest[0], l < last, path);
        }
        &ws.acts[last][..rows * self.outputs()]
    }

    fn backward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut MlpWorkspace<T>,
        grad: &mut [T],
        sparse: bool,
    ) {
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
            let input: &[T] = if l == 0 { x } else { &acts[l - 1] };
            let path = sparse_path(kernels, at, dt, gt, l, sparse);
            let input_grad = (l > 0).then_some(&mut next[..]);
            layer.backward(params, input, cur, rows, grad, input_grad, path);
            if l > 0 {
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
                    .map(|l| l.sparse_kernel(mask, sparse_below.linear))
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
            let input: &[T] = if l == 0 { x } else { &acts[l - 1] };
            let (before, rest) = r_acts.split_at_mut(l);
            let r_input = (l > 0).then(|| &before[l - 1][..]);
            let relu_out = (l < last).then(|| &acts[l][..]);
            layer.r_forward(params, v, input, r_input, rows, &mut rest[0], relu_out);
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
        let layers = self.layers();
        r_backward_chain(
            layers.len(),
            x,
            acts,
            r_acts,
            [d0, d1],
            [r0, r1],
            |l, input, r_input, delta, r_delta, input_grads| {
                layers[l].r_backward(
                    params,
                    v,
                    input,
                    r_input,
                    delta,
                    r_delta,
                    rows,
                    out,
                    input_grads,
                );
            },
        );
    }

    fn synflow_gradient<T: Scalar>(
        &self,
        params: &[T],
        ws: &mut MlpWorkspace<T>,
        out: &mut [T],
    ) -> f64 {
        synflow_gradient(self, params, ws, out)
    }
}
