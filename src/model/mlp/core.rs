//! Forward pass, backprop and the R-operator Hessian-vector product of [`Mlp`] on GEMM, with
//! the formulas of the [module docs](super); data as row-per-point matrices.

use super::{Loss, Mlp, MlpError, Scalar};

/// Training targets: one row of `o` values per point (MSE) or one class in `0..o` per point
/// (cross-entropy).
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T> {
    /// Regression targets, point-major (`n × o`).
    Values(Vec<T>),
    /// Class labels.
    Classes(Vec<usize>),
}

/// A borrowed view of [`Targets`] (e.g. of one minibatch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TargetsRef<'a, T> {
    /// Regression targets, point-major (`rows × o`).
    Values(&'a [T]),
    /// Class labels.
    Classes(&'a [usize]),
}

impl<'a, T> TargetsRef<'a, T> {
    /// Rows `start..end` (`o` outputs per row).
    fn rows(self, start: usize, end: usize, o: usize) -> Self {
        match self {
            TargetsRef::Values(v) => TargetsRef::Values(&v[start * o..end * o]),
            TargetsRef::Classes(c) => TargetsRef::Classes(&c[start..end]),
        }
    }
}

/// A dataset for an [`Mlp`]: inputs `X` (`n × d`, point-major) and targets matching its loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    x: Vec<T>,
    targets: Targets<T>,
    n: usize,
}

impl<T: Scalar> Dataset<T> {
    /// Checks the lengths, finiteness, the target kind against `mlp`'s loss and the class range.
    pub fn new(mlp: &Mlp, x: Vec<T>, targets: Targets<T>) -> Result<Self, MlpError> {
        let (d, o) = (mlp.input_dim(), mlp.outputs());
        let n = x.len() / d;
        if n == 0 {
            return Err(MlpError::NoPoints);
        }
        if x.len() != n * d {
            return Err(MlpError::Length {
                what: "inputs",
                expected: n * d,
                got: x.len(),
            });
        }
        if !x.iter().all(|v| v.is_finite()) {
            return Err(MlpError::NonFinite("inputs"));
        }
        match (&targets, mlp.loss()) {
            (Targets::Values(y), Loss::Mse) => {
                if y.len() != n * o {
                    return Err(MlpError::Length {
                        what: "targets",
                        expected: n * o,
                        got: y.len(),
                    });
                }
                if !y.iter().all(|v| v.is_finite()) {
                    return Err(MlpError::NonFinite("targets"));
                }
            }
            (Targets::Classes(c), Loss::CrossEntropy) => {
                if c.len() != n {
                    return Err(MlpError::Length {
                        what: "class labels",
                        expected: n,
                        got: c.len(),
                    });
                }
                if let Some(&label) = c.iter().find(|&&c| c >= o) {
                    return Err(MlpError::Class { label, outputs: o });
                }
            }
            (_, Loss::Mse) => return Err(MlpError::TargetKind(Loss::Mse, "value")),
            (_, Loss::CrossEntropy) => {
                return Err(MlpError::TargetKind(Loss::CrossEntropy, "class"))
            }
        }
        Ok(Dataset { x, targets, n })
    }

    /// Number of points `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always `false` (a dataset has at least one point).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Inputs, point-major.
    pub fn inputs(&self) -> &[T] {
        &self.x
    }

    /// Targets.
    pub fn targets(&self) -> TargetsRef<'_, T> {
        match &self.targets {
            Targets::Values(v) => TargetsRef::Values(v),
            Targets::Classes(c) => TargetsRef::Classes(c),
        }
    }

    /// The whole dataset as one batch.
    pub fn batch(&self) -> Batch<'_, T> {
        Batch {
            x: &self.x,
            targets: self.targets(),
            rows: self.n,
        }
    }

    /// The same dataset in another precision.
    pub fn convert<U: Scalar>(&self) -> Dataset<U> {
        let cv = |v: &[T]| v.iter().map(|&v| U::from_f64(v.to_f64())).collect();
        Dataset {
            x: cv(&self.x),
            targets: match &self.targets {
                Targets::Values(v) => Targets::Values(cv(v)),
                Targets::Classes(c) => Targets::Classes(c.clone()),
            },
            n: self.n,
        }
    }
}

/// Rows of inputs and their targets, as one gradient step sees them.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a, T> {
    x: &'a [T],
    targets: TargetsRef<'a, T>,
    rows: usize,
}

impl<'a, T> Batch<'a, T> {
    /// A batch of `rows` points; lengths are checked by the caller (the trainer's gather buffers).
    pub(crate) fn from_parts(x: &'a [T], targets: TargetsRef<'a, T>, rows: usize) -> Self {
        Batch { x, targets, rows }
    }

    /// Number of points.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// Buffers for batches of up to `capacity` rows, sized once: activations of every layer,
/// two delta buffers, per-point losses, and (allocated on the first [`Mlp::hvp`]) their
/// R-operator counterparts.
#[derive(Clone, Debug)]
pub struct Workspace<T> {
    capacity: usize,
    /// `acts[l]`: output of layer `l` (`A_{l+1}`, the last is `F`), `capacity × w_{l+1}`.
    acts: Vec<Vec<T>>,
    delta: [Vec<T>; 2],
    r_acts: Vec<Vec<T>>,
    r_delta: [Vec<T>; 2],
    point_loss: Vec<T>,
    ones: Vec<T>,
}

impl<T: Scalar> Workspace<T> {
    /// Buffers for `mlp` and batches of up to `capacity` rows (at least 1).
    pub fn new(mlp: &Mlp, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let wide = capacity * mlp.max_width();
        Workspace {
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
        }
    }

    /// Largest batch the buffers hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Per-point losses `ℓ_i` of the last forward pass with targets (first `rows` entries).
    pub fn point_losses(&self) -> &[T] {
        &self.point_loss
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

/// ReLU that keeps NaN (so that a diverged unit is not silently zeroed).
#[inline(always)]
fn relu<T: Scalar>(v: T) -> T {
    if v < T::ZERO {
        T::ZERO
    } else {
        v
    }
}

/// `d ← d ⊙ 1[a > 0]`.
#[inline(always)]
fn gate_by<T: Scalar>(d: &mut [T], a: &[T]) {
    for (d, &a) in d.iter_mut().zip(a) {
        *d = if a > T::ZERO { *d } else { T::ZERO };
    }
}

/// `out ← Σ_rows m` (column sums of a `rows × cols` row-major matrix), rows in order.
#[inline(always)]
fn column_sums<T: Scalar>(m: &[T], cols: usize, out: &mut [T]) {
    out.fill(T::ZERO);
    for row in m.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
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
    /// Forward pass of `rows` inputs (point-major `x`, at least `rows · d` values) into the
    /// workspace; returns the outputs `F` (`rows × o`).
    ///
    /// # Panics
    /// If `rows` exceeds the workspace capacity or a slice is too short.
    pub fn forward<'w, T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &'w mut Workspace<T>,
    ) -> &'w [T] {
        assert!(rows <= ws.capacity, "batch exceeds the workspace capacity");
        assert_eq!(params.len(), self.num_params(), "parameter count");
        let x = &x[..rows * self.input_dim()];
        let last = self.layers().len() - 1;
        for (l, layer) in self.layers().iter().enumerate() {
            let (before, rest) = ws.acts.split_at_mut(l);
            let input: &[T] = if l == 0 { x } else { &before[l - 1] };
            let out = &mut rest[0][..rows * layer.outputs];
            T::gemm(
                rows,
                layer.inputs,
                layer.outputs,
                T::ONE,
                (input, layer.inputs, 1),
                (&params[layer.weights.clone()], 1, layer.inputs),
                T::ZERO,
                (out, layer.outputs, 1),
            );
            bias_relu(out, &params[layer.bias.clone()], l < last);
        }
        &ws.acts[last][..rows * self.outputs()]
    }

    /// From the outputs of the last forward pass: the per-point losses `ℓ_i` (outputs divided
    /// by `1/inv_t`) into `ws.point_loss`, `δ_L = (inv_t/rows) ℓ'(U)` into `ws.delta[0]`, and
    /// the sum `Σ_i ℓ_i` (in `f64`).
    fn output_delta<T: Scalar>(
        &self,
        targets: TargetsRef<'_, T>,
        rows: usize,
        inv_t: T,
        scale: T,
        ws: &mut Workspace<T>,
    ) -> f64 {
        let o = self.outputs();
        let f = &ws.acts[self.layers().len() - 1][..rows * o];
        let delta = &mut ws.delta[0][..rows * o];
        let mut total = 0.0;
        match targets {
            TargetsRef::Values(y) => {
                for (((f, y), d), pl) in f
                    .chunks_exact(o)
                    .zip(y.chunks_exact(o))
                    .zip(delta.chunks_exact_mut(o))
                    .zip(&mut ws.point_loss)
                {
                    let mut loss = T::ZERO;
                    for ((&f, &y), d) in f.iter().zip(y).zip(d) {
                        let r = f.mul_add(inv_t, -y);
                        loss += r * r;
                        *d = r * scale;
                    }
                    *pl = loss * T::from_f64(0.5);
                    total += pl.to_f64();
                }
            }
            TargetsRef::Classes(c) => {
                for (((f, &c), d), pl) in f
                    .chunks_exact(o)
                    .zip(c)
                    .zip(delta.chunks_exact_mut(o))
                    .zip(&mut ws.point_loss)
                {
                    let max =
                        f.iter().fold(
                            f[0] * inv_t,
                            |m, &v| if v * inv_t > m { v * inv_t } else { m },
                        );
                    let mut sum = T::ZERO;
                    for (&f, d) in f.iter().zip(d.iter_mut()) {
                        *d = (f * inv_t - max).exp();
                        sum += *d;
                    }
                    for (k, d) in d.iter_mut().enumerate() {
                        let target = if k == c { T::ONE } else { T::ZERO };
                        *d = (*d / sum - target) * scale;
                    }
                    *pl = sum.ln() + max - f[c] * inv_t;
                    total += pl.to_f64();
                }
            }
        }
        total
    }

    /// Backward pass from `δ_L` in `ws.delta[0]`: the gradient into `grad` (index order).
    fn backward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        grad: &mut [T],
    ) {
        let Workspace { acts, delta, .. } = ws;
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

    /// Mean loss `L(θ)` on `batch` (outputs divided by `temperature`) and its gradient into
    /// `grad` (index order); per-point losses stay in the workspace.
    ///
    /// # Panics
    /// If the batch exceeds the workspace capacity or `grad` has the wrong length.
    pub fn gradient<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        ws: &mut Workspace<T>,
        grad: &mut [T],
    ) -> f64 {
        assert_eq!(grad.len(), self.num_params(), "gradient length");
        let rows = batch.rows;
        let inv_t = 1.0 / temperature;
        let scale = T::from_f64(inv_t / rows as f64);
        self.forward(params, batch.x, rows, ws);
        let total = self.output_delta(batch.targets, rows, T::from_f64(inv_t), scale, ws);
        self.backward(params, batch.x, rows, ws, grad);
        total / rows as f64
    }

    /// Mean loss on `batch` (outputs divided by `temperature`), evaluated in chunks of the
    /// workspace capacity; the per-point losses of the last chunk stay in the workspace.
    pub fn mean_loss<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        ws: &mut Workspace<T>,
    ) -> f64 {
        let inv_t = T::from_f64(1.0 / temperature);
        let (d, o) = (self.input_dim(), self.outputs());
        let mut total = 0.0;
        let mut start = 0;
        while start < batch.rows {
            let end = (start + ws.capacity).min(batch.rows);
            self.forward(params, &batch.x[start * d..end * d], end - start, ws);
            total += self.output_delta(
                batch.targets.rows(start, end, o),
                end - start,
                inv_t,
                T::ONE,
                ws,
            );
            start = end;
        }
        total / batch.rows as f64
    }

    /// Per-point losses `ℓ_i` (temperature 1) of `batch` into `out` (`rows` values), in chunks
    /// of the workspace capacity.
    pub fn point_losses<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        ws: &mut Workspace<T>,
        out: &mut [T],
    ) {
        let (d, o) = (self.input_dim(), self.outputs());
        let mut start = 0;
        while start < batch.rows {
            let end = (start + ws.capacity).min(batch.rows);
            self.forward(params, &batch.x[start * d..end * d], end - start, ws);
            self.output_delta(
                batch.targets.rows(start, end, o),
                end - start,
                T::ONE,
                T::ONE,
                ws,
            );
            out[start..end].copy_from_slice(&ws.point_loss[..end - start]);
            start = end;
        }
    }

    /// Forward-only evaluation of `rows` inputs (point-major `x`) into `out` (`rows × o`), in
    /// chunks of the workspace capacity: GEMM-speed for large evaluation sets.
    pub fn evaluate<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        out: &mut [T],
    ) {
        let (d, o) = (self.input_dim(), self.outputs());
        assert!(
            x.len() >= rows * d && out.len() >= rows * o,
            "evaluate: slice too short"
        );
        let mut start = 0;
        while start < rows {
            let end = (start + ws.capacity).min(rows);
            let f = self.forward(params, &x[start * d..end * d], end - start, ws);
            out[start * o..end * o].copy_from_slice(f);
            start = end;
        }
    }

    /// Hessian-vector product `H v` of the mean loss on `batch` (outputs divided by
    /// `temperature`) at `params`, by the R-operator (module docs), into `out`.
    ///
    /// # Panics
    /// If the batch exceeds the workspace capacity or a vector has the wrong length.
    pub fn hvp<T: Scalar>(
        &self,
        params: &[T],
        batch: Batch<'_, T>,
        temperature: f64,
        v: &[T],
        ws: &mut Workspace<T>,
        out: &mut [T],
    ) {
        let p = self.num_params();
        assert!(v.len() == p && out.len() == p, "hvp: vector length");
        ws.ensure_hvp();
        let rows = batch.rows;
        let inv_t64 = 1.0 / temperature;
        let inv_t = T::from_f64(inv_t64);
        let scale = T::from_f64(inv_t64 / rows as f64);
        let curvature = T::from_f64(inv_t64 * inv_t64 / rows as f64);
        self.forward(params, batch.x, rows, ws);
        self.output_delta(batch.targets, rows, inv_t, scale, ws);
        let x = &batch.x[..rows * self.input_dim()];
        let last = self.layers().len() - 1;
        let Workspace {
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
        match self.loss() {
            Loss::Mse => {
                for (rd, &rf) in rd.iter_mut().zip(rf) {
                    *rd = rf * curvature;
                }
            }
            Loss::CrossEntropy => {
                for ((f, rf), rd) in f
                    .chunks_exact(o)
                    .zip(rf.chunks_exact(o))
                    .zip(rd.chunks_exact_mut(o))
                {
                    let max =
                        f.iter().fold(
                            f[0] * inv_t,
                            |m, &v| if v * inv_t > m { v * inv_t } else { m },
                        );
                    let mut sum = T::ZERO;
                    for (&f, s) in f.iter().zip(rd.iter_mut()) {
                        *s = (f * inv_t - max).exp();
                        sum += *s;
                    }
                    let mut mean = T::ZERO;
                    for (s, &rf) in rd.iter_mut().zip(rf) {
                        *s = *s / sum;
                        mean += *s * rf;
                    }
                    for (s, &rf) in rd.iter_mut().zip(rf) {
                        *s = *s * (rf - mean) * curvature;
                    }
                }
            }
        }
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
    pub fn synflow_gradient<T: Scalar>(
        &self,
        params: &[T],
        ws: &mut Workspace<T>,
        out: &mut [T],
    ) -> f64 {
        assert_eq!(out.len(), self.num_params(), "gradient length");
        let ones = std::mem::take(&mut ws.ones);
        let s = self
            .forward(params, &ones, 1, ws)
            .iter()
            .map(|v| v.to_f64())
            .sum();
        let o = self.outputs();
        ws.delta[0][..o].fill(T::ONE);
        self.backward(params, &ones, 1, ws, out);
        ws.ones = ones;
        s
    }
}
