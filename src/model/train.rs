//! The training loop of every [`Model`]: epochs of (full-batch or minibatch) optimizer steps on
//! a [`Dataset`], with an epoch-level hook that observes, evaluates and stops.
//!
//! ```text
//! epoch: order = 0..n (full batch) or a ChaCha8 shuffle (minibatch, PyTorch's DataLoader with
//!        shuffle and drop_last = false);  for each batch B:
//!        g = ∇L_B(θ)  [+ N(0, σ²) per coordinate, optional],  θ ← optimizer(θ, m ⊙ g)
//! after each epoch: hook(trainer, stats) → Continue | Stop;  a non-finite loss stops (diverged)
//! ```
//!
//! [`Trainer::reset`] rewinds to given parameters (masked) with a fresh optimizer and re-seeded
//! streams, so a training run is a function of (start, mask, data, config) alone.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::sparse::SparseBelow;
use super::{Batch, Dataset, Model, ModelWorkspace, Optimizer, OptimizerState, Scalar, TargetsRef};

/// Rows of the workspace at least, so that forward-only evaluation of large input sets runs
/// in GEMM-sized chunks even when the training batch is small.
const EVAL_ROWS: usize = 256;

/// How a [`Trainer`] steps.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Minibatch size; `None` (or `≥ n`) is full-batch.
    pub batch_size: Option<usize>,
    /// Variance `σ²` of Gaussian noise added to every gradient coordinate before the optimizer
    /// step (0: none; Fig. 1f).
    pub grad_noise_variance: f64,
    /// Seed of the shuffling (stream 0) and gradient-noise (stream 1) streams.
    pub seed: u64,
    /// Kept fractions (in `[0, 1]`) below which a masked layer trains on its sparse kernel
    /// ([`Model::set_mask`]; 0: never). They change only the summation order. Read as
    /// [`SparseBelow::NEVER`] from files written before they existed (their runs were dense).
    #[serde(default)]
    pub sparse_below: SparseBelow,
}

impl TrainConfig {
    /// Full-batch training with `optimizer`, no gradient noise, seed 0.
    pub fn full_batch(optimizer: Optimizer) -> Self {
        TrainConfig {
            optimizer,
            batch_size: None,
            grad_noise_variance: 0.0,
            seed: 0,
            sparse_below: SparseBelow::MEASURED,
        }
    }
}

/// What the epoch hook tells the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Train another epoch.
    Continue,
    /// Stop now.
    Stop,
}

/// What the loop reports after each epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// Epochs completed (1 after the first).
    pub epoch: usize,
    /// Mean training loss over the epoch, each batch's loss taken at the parameters before its
    /// step (what a PyTorch loop reports).
    pub loss: f64,
}

/// How a training run ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainOutcome {
    /// Epochs completed.
    pub epochs: usize,
    /// Whether the hook stopped the run (rather than the epoch cap or divergence).
    pub stopped: bool,
    /// Whether the loss or a parameter became non-finite.
    pub diverged: bool,
    /// Loss of the last epoch ([`EpochStats::loss`]); NaN when no epoch ran.
    pub loss: f64,
}

/// Detects a loss plateau: no relative improvement by `rel` over `window` epochs.
///
/// ```text
/// reference r ← loss at the last improvement;  improvement: loss < r · (1 − rel)
/// plateau: `window` epochs since the last improvement
/// ```
#[derive(Clone, Debug)]
pub struct Plateau {
    window: usize,
    rel: f64,
    reference: f64,
    since: usize,
}

impl Plateau {
    /// A detector for `window` epochs and relative improvement `rel` (SPEC §7: 200, 0.01).
    pub fn new(window: usize, rel: f64) -> Self {
        Plateau {
            window,
            rel,
            reference: f64::INFINITY,
            since: 0,
        }
    }

    /// Feeds one epoch's loss; returns whether the loss has plateaued.
    pub fn update(&mut self, loss: f64) -> bool {
        if loss < self.reference * (1.0 - self.rel) || self.reference.is_infinite() {
            self.reference = loss;
            self.since = 0;
        } else {
            self.since += 1;
        }
        self.since >= self.window
    }
}

/// A network in training: parameters, mask, optimizer state, workspace and gather buffers, all
/// sized once in [`Trainer::new`]; no step allocates.
///
/// # Example
/// ```
/// # use peff::model::mlp::Mlp;
/// # use peff::model::{Control, Dataset, Loss, Model, Optimizer, Targets, TrainConfig, Trainer};
/// let mlp = Mlp::new(&[2, 16, 2], Loss::CrossEntropy)?;
/// let data = Dataset::new(&mlp, vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.5], Targets::Classes(vec![0, 1, 1]))?;
/// let init: Vec<f32> = mlp.init_params(0).iter().map(|&v| v as f32).collect();
/// let mut trainer = Trainer::<_, f32>::new(&mlp, TrainConfig::full_batch(Optimizer::sgd(0.5)), data.len());
/// trainer.reset(&init, None);
/// let mut losses = vec![0.0f32; data.len()];
/// let outcome = trainer.train(&data, 1000, |t, _stats| {
///     t.point_losses(&data, &mut losses);
///     if losses.iter().all(|&l| l < std::f32::consts::LN_2 / 10.0) { Control::Stop } else { Control::Continue }
/// });
/// assert!(outcome.stopped && !outcome.diverged);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Trainer<M: Model, T: Scalar> {
    model: M,
    config: TrainConfig,
    batch: usize,
    params: Vec<T>,
    mask: Option<Vec<T>>,
    /// The kept entries of the mask, ascending (the optimizer updates these only).
    kept: Option<Vec<usize>>,
    grad: Vec<T>,
    state: OptimizerState<T>,
    ws: M::Workspace<T>,
    order: Vec<usize>,
    xb: Vec<T>,
    yb: Vec<T>,
    cb: Vec<usize>,
    shuffle: ChaCha8Rng,
    noise: ChaCha8Rng,
    full_losses: bool,
}

impl<M: Model, T: Scalar> Trainer<M, T> {
    /// A trainer for `model` on datasets of `n` points; parameters start at 0 until
    /// [`Trainer::reset`].
    ///
    /// # Panics
    /// If `config.sparse_below` is outside `[0, 1]`.
    pub fn new(model: &M, config: TrainConfig, n: usize) -> Self {
        assert!(
            config.sparse_below.is_valid(),
            "sparse_below must be in [0, 1], got {:?}",
            config.sparse_below
        );
        let p = model.num_params();
        let batch = config.batch_size.unwrap_or(n).clamp(1, n.max(1));
        let minibatch = batch < n;
        let gather = if minibatch { batch } else { 0 };
        Trainer {
            model: model.clone(),
            config,
            batch,
            params: vec![T::ZERO; p],
            mask: None,
            kept: None,
            grad: vec![T::ZERO; p],
            state: OptimizerState::new(config.optimizer, p),
            ws: model.workspace(batch.max(EVAL_ROWS)),
            order: (0..n).collect(),
            xb: vec![T::ZERO; gather * model.input_len()],
            yb: vec![T::ZERO; gather * model.outputs()],
            cb: vec![0; gather],
            shuffle: Self::stream(config.seed, 0),
            noise: Self::stream(config.seed, 1),
            full_losses: false,
        }
    }

    fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        rng
    }

    /// Rewinds to `start ⊙ mask` (`None`: dense) with a fresh optimizer and re-seeded streams.
    pub fn reset(&mut self, start: &[T], mask: Option<&[bool]>) {
        assert_eq!(start.len(), self.params.len(), "parameter count");
        self.params.copy_from_slice(start);
        self.mask = mask.map(|m| {
            assert_eq!(m.len(), start.len(), "mask length");
            m.iter()
                .map(|&k| if k { T::ONE } else { T::ZERO })
                .collect()
        });
        if let Some(mask) = &self.mask {
            for (w, &m) in self.params.iter_mut().zip(mask) {
                *w = if m > T::ZERO { *w } else { T::ZERO };
            }
        }
        self.kept = mask.map(|m| (0..m.len()).filter(|&i| m[i]).collect());
        self.model
            .set_mask(mask, self.config.sparse_below, &mut self.ws);
        self.state.reset();
        for (k, i) in self.order.iter_mut().enumerate() {
            *i = k;
        }
        self.shuffle = Self::stream(self.config.seed, 0);
        self.noise = Self::stream(self.config.seed, 1);
        self.full_losses = false;
    }

    /// The architecture.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Current parameters (index order; pruned entries are 0).
    pub fn params(&self) -> &[T] {
        &self.params
    }

    /// The 0/1 mask, `None` when dense.
    pub fn mask(&self) -> Option<&[T]> {
        self.mask.as_deref()
    }

    /// Optimizer steps since the last reset.
    pub fn steps(&self) -> u64 {
        self.state.steps()
    }

    /// One optimizer step on `batch`; returns the batch's mean loss before the step.
    pub fn step(&mut self, batch: Batch<'_, T>) -> f64 {
        let loss = self
            .model
            .gradient(&self.params, batch, 1.0, &mut self.ws, &mut self.grad);
        if self.config.grad_noise_variance > 0.0 {
            let sd = self.config.grad_noise_variance.sqrt();
            for g in &mut self.grad {
                let z: f64 = StandardNormal.sample(&mut self.noise);
                *g += T::from_f64(sd * z);
            }
        }
        match &self.kept {
            Some(kept) => self.state.step_kept(&mut self.params, &self.grad, kept),
            None => self.state.step(&mut self.params, &mut self.grad, None),
        }
        loss
    }

    /// One epoch over `data`; returns its mean loss ([`EpochStats::loss`]).
    pub fn epoch(&mut self, data: &Dataset<T>) -> f64 {
        let n = data.len();
        assert_eq!(
            n,
            self.order.len(),
            "dataset size differs from the trainer's"
        );
        if self.batch >= n {
            self.full_losses = true;
            return self.step(data.batch());
        }
        self.full_losses = false;
        self.order.shuffle(&mut self.shuffle);
        let (d, o) = (self.model.input_len(), self.model.outputs());
        let mut total = 0.0;
        let mut start = 0;
        while start < n {
            let end = (start + self.batch).min(n);
            let rows = end - start;
            for (r, &i) in self.order[start..end].iter().enumerate() {
                self.xb[r * d..(r + 1) * d].copy_from_slice(&data.inputs()[i * d..(i + 1) * d]);
                match data.targets() {
                    TargetsRef::Values(y) => {
                        self.yb[r * o..(r + 1) * o].copy_from_slice(&y[i * o..(i + 1) * o])
                    }
                    TargetsRef::Classes(c) => self.cb[r] = c[i],
                }
            }
            let xb = std::mem::take(&mut self.xb);
            let (yb, cb) = (std::mem::take(&mut self.yb), std::mem::take(&mut self.cb));
            let targets = match data.targets() {
                TargetsRef::Values(_) => TargetsRef::Values(&yb[..rows * o]),
                TargetsRef::Classes(_) => TargetsRef::Classes(&cb[..rows]),
            };
            total += self.step(Batch::from_parts(&xb, targets, rows)) * rows as f64;
            (self.xb, self.yb, self.cb) = (xb, yb, cb);
            start = end;
        }
        total / n as f64
    }

    /// Trains up to `max_epochs` epochs, calling `hook(self, stats)` after each; stops when the
    /// hook says so or the loss becomes non-finite (diverged; the hook is not called then).
    pub fn train(
        &mut self,
        data: &Dataset<T>,
        max_epochs: usize,
        mut hook: impl FnMut(&mut Self, EpochStats) -> Control,
    ) -> TrainOutcome {
        let mut outcome = TrainOutcome {
            epochs: 0,
            stopped: false,
            diverged: false,
            loss: f64::NAN,
        };
        for epoch in 1..=max_epochs {
            let loss = self.epoch(data);
            outcome.epochs = epoch;
            outcome.loss = loss;
            if !loss.is_finite() {
                outcome.diverged = true;
                return outcome;
            }
            if hook(self, EpochStats { epoch, loss }) == Control::Stop {
                outcome.stopped = true;
                break;
            }
        }
        outcome.diverged = !self.params.iter().all(|w| w.is_finite());
        outcome
    }

    /// Per-point losses `ℓ_i` of the last full-batch step, at the parameters before it (free:
    /// the step computed them); `None` after a minibatch epoch or a reset.
    pub fn last_point_losses(&self) -> Option<&[T]> {
        self.full_losses
            .then(|| &self.ws.point_losses()[..self.order.len()])
    }

    /// Per-point losses `ℓ_i` at the current parameters into `out` (one forward pass).
    pub fn point_losses(&mut self, data: &Dataset<T>, out: &mut [T]) {
        self.full_losses = false;
        self.model
            .point_losses(&self.params, data.batch(), &mut self.ws, out);
    }

    /// Mean loss at the current parameters.
    pub fn loss(&mut self, data: &Dataset<T>) -> f64 {
        self.full_losses = false;
        self.model
            .mean_loss(&self.params, data.batch(), 1.0, &mut self.ws)
    }

    /// Outputs at the current parameters for `rows` inputs (point-major `x`) into `out`
    /// (`rows × o`), forward-only in GEMM-sized chunks.
    pub fn evaluate(&mut self, x: &[T], rows: usize, out: &mut [T]) {
        self.model
            .evaluate(&self.params, x, rows, &mut self.ws, out);
    }
}
