//! Any [`Model`] as the pruning methods see it: a [`Networks`] batch of one lane, so that the
//! same implementations in `crate::prune` serve the toy, the MLP and every other network.
//!
//! Per SPEC §7: only the weights are prunable by default ([`Model::weight_indices`]: every
//! layer's weights, the output layer's included; biases always kept,
//! [`ModelNetworks::prune_biases`] opts in), and `k` counts kept prunable parameters. SynFlow's objective uses `|θ|` of every parameter, biases included, on
//! the all-ones input. GraSP's temperature divides the outputs. IMP and magnitude pruning train
//! through the network's own routine (a closure: to convergence for memorisation, a fixed number
//! of epochs for the noise correlation), from `θ0 ⊙ m` with a fresh optimizer.
//!
//! Scores (gradient, `H g`, SynFlow's gradient) are computed in `f64` at the parameters the
//! network holds (`θ0` rounded to `T`), whatever `T` training runs in. The data pass of a score
//! runs in chunks of at most [`SCORE_WORKSPACE_BYTES`] of workspace, each chunk's inputs widened
//! to `f64` as it is read, and sums the chunks' mean gradients weighted by their share of the
//! points, `∇L = Σ_c (n_c / n) ∇L_c`; a dataset that fits one chunk is one pass, as before.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::{
    Batch, Dataset, Model, Networks, Scalar, TargetsRef, TrainConfig, TrainOutcome, Trainer,
};

/// Workspace bound of one chunk of a score's data pass (256 MiB of `f64` buffers).
pub const SCORE_WORKSPACE_BYTES: u128 = 256 << 20;

/// One network, its dataset, its init, and its training routine, as a [`Networks`] batch of one.
pub struct ModelNetworks<M, T, F> {
    model: M,
    data: Dataset<T>,
    init: Vec<f64>,
    init_t: Vec<T>,
    key: [u64; 1],
    prunable: Vec<usize>,
    config: TrainConfig,
    routine: F,
    score_bytes: u128,
    dense: OnceCell<(Vec<f64>, Vec<bool>)>,
}

impl<M, T, F> ModelNetworks<M, T, F>
where
    M: Model,
    T: Scalar,
    F: Fn(&mut Trainer<M, T>, &Dataset<T>) -> TrainOutcome,
{
    /// The network `model` with dataset `data` (keyed `key` for per-dataset random streams),
    /// initial parameters `init` (rounded to `T`), trained by `routine` on a [`Trainer`] built
    /// with `config` and already reset to `θ0 ⊙ m`. Only weights are prunable.
    ///
    /// # Panics
    /// If `init` does not have `model.num_params()` values.
    pub fn new(
        model: &M,
        data: Dataset<T>,
        init: &[f64],
        key: u64,
        config: TrainConfig,
        routine: F,
    ) -> Self {
        assert_eq!(init.len(), model.num_params(), "parameter count");
        let init_t: Vec<T> = init.iter().map(|&v| T::from_f64(v)).collect();
        ModelNetworks {
            model: model.clone(),
            data,
            init: init_t.iter().map(|v| v.to_f64()).collect(),
            init_t,
            key: [key],
            prunable: model.weight_indices(),
            config,
            routine,
            score_bytes: SCORE_WORKSPACE_BYTES,
            dense: OnceCell::new(),
        }
    }

    /// Makes biases prunable too (`--prune-biases`), or weights only again.
    pub fn prune_biases(mut self, yes: bool) -> Self {
        self.prunable = if yes {
            (0..self.model.num_params()).collect()
        } else {
            self.model.weight_indices()
        };
        self
    }

    /// Bounds the workspace of one chunk of a score's data pass by `bytes` (default
    /// [`SCORE_WORKSPACE_BYTES`]; at least one point per chunk).
    pub fn score_workspace_bytes(mut self, bytes: u128) -> Self {
        self.score_bytes = bytes;
        self
    }

    /// The architecture.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The dataset.
    pub fn data(&self) -> &Dataset<T> {
        &self.data
    }

    /// Runs `pass` (a mean-loss quantity into its output slice) over the data in chunks bounded
    /// by the score workspace bound, in `f64`, and writes `Σ_c (n_c / n) pass(chunk c)` into
    /// `out` (one chunk: `pass` writes `out` directly).
    fn score_pass(
        &self,
        out: &mut [f64],
        mut pass: impl FnMut(Batch<'_, f64>, &mut M::Workspace<f64>, &mut [f64]),
    ) {
        let n = self.data.len();
        let per_row = self.model.workspace_bytes::<f64>(1).max(1);
        let rows = usize::try_from(self.score_bytes / per_row)
            .unwrap_or(usize::MAX)
            .clamp(1, n);
        let mut ws = self.model.workspace::<f64>(rows);
        let (d, o) = (self.model.input_len(), self.model.outputs());
        let widen = |v: &[T]| -> Vec<f64> { v.iter().map(|v| v.to_f64()).collect() };
        let mut part = if rows < n {
            vec![0.0; out.len()]
        } else {
            Vec::new()
        };
        let mut start = 0;
        while start < n {
            let end = (start + rows).min(n);
            let x = widen(&self.data.inputs()[start * d..end * d]);
            let values;
            let targets = match self.data.targets().range(start, end, o) {
                TargetsRef::Values(v) => {
                    values = widen(v);
                    TargetsRef::Values(&values[..])
                }
                TargetsRef::Classes(c) => TargetsRef::Classes(c),
            };
            let batch = Batch::from_parts(&x, targets, end - start);
            if rows == n {
                pass(batch, &mut ws, out);
            } else {
                pass(batch, &mut ws, &mut part);
                let share = (end - start) as f64 / n as f64;
                if start == 0 {
                    out.fill(0.0);
                }
                for (o, p) in out.iter_mut().zip(&part) {
                    *o += share * p;
                }
            }
            start = end;
        }
    }

    /// Trains from `θ0 ⊙ mask` with the routine; returns the trained parameters (in `T`) and
    /// the outcome (its `diverged` also set when a parameter is non-finite).
    pub fn train_masked(&self, mask: Option<&[bool]>) -> (Vec<T>, TrainOutcome) {
        let mut trainer = Trainer::new(&self.model, self.config, self.data.len());
        trainer.reset(&self.init_t, mask);
        let mut outcome = (self.routine)(&mut trainer, &self.data);
        outcome.diverged |= !trainer.params().iter().all(|w| w.is_finite());
        (trainer.params().to_vec(), outcome)
    }

    /// Supplies the dense training run (`params`, `diverged` per lane) that
    /// [`Networks::dense_trained`] would otherwise compute, e.g. from a checkpoint; `false` if
    /// it was already computed or supplied.
    pub fn set_dense_trained(&self, params: Vec<f64>, diverged: Vec<bool>) -> bool {
        self.dense.set((params, diverged)).is_ok()
    }
}

impl<M, T, F> Networks for ModelNetworks<M, T, F>
where
    M: Model,
    T: Scalar,
    F: Fn(&mut Trainer<M, T>, &Dataset<T>) -> TrainOutcome,
{
    fn num_params(&self) -> usize {
        self.model.num_params()
    }

    fn lanes(&self) -> usize {
        1
    }

    fn lane_keys(&self) -> &[u64] {
        &self.key
    }

    fn init(&self) -> &[f64] {
        &self.init
    }

    fn prunable(&self) -> Cow<'_, [usize]> {
        Cow::Borrowed(&self.prunable)
    }

    fn gradient_at_init(&self, temperature: f64, out: &mut [f64]) {
        self.score_pass(out, |batch, ws, out| {
            self.model.gradient(&self.init, batch, temperature, ws, out);
        });
    }

    fn hvp_at_init(&self, temperature: f64, v: &[f64], out: &mut [f64]) {
        self.score_pass(out, |batch, ws, out| {
            self.model.hvp(&self.init, batch, temperature, v, ws, out);
        });
    }

    fn train(&self, mask: &[f64], params: &mut [f64], diverged: &mut [bool]) {
        let keep: Vec<bool> = mask.iter().map(|&m| m > 0.0).collect();
        let (trained, outcome) = self.train_masked(Some(&keep));
        for (p, w) in params.iter_mut().zip(&trained) {
            *p = w.to_f64();
        }
        diverged[0] = outcome.diverged;
    }

    fn dense_trained(&self) -> (&[f64], &[bool]) {
        let (params, diverged) = self.dense.get_or_init(|| {
            let (trained, outcome) = self.train_masked(None);
            (
                trained.iter().map(|w| w.to_f64()).collect(),
                vec![outcome.diverged],
            )
        });
        (params, diverged)
    }

    fn synflow_gradient(&self, params: &[f64], out: &mut [f64]) {
        let mut ws = self.model.workspace(1);
        self.model.synflow_gradient(params, &mut ws, out);
    }
}
