//! The noise-correlation experiment (SPEC §7 "Correlation with noise", Fig. 1d–f and Fig. 2 of
//! the paper): how a student network's correlation with the label noise of its training set
//! rises while it trains and falls when IMP prunes it.
//!
//! ```text
//! data (per seed, crate::data::teacher): x_i ~ N(0, I_d), y_i = g(x_i) + z_i, z_i ~ N(0, σ²) fixed,
//!                                        μ-sample x'_1..x'_M ~ N(0, I_d) fixed
//! C(f) = (1/n) Σ_i (f(x_i) − E_μ f) z_i = (1/n) Σ_i f(x_i) z_i − E_μ f · z̄,
//!        E_μ f = (1/M) Σ_j f(x'_j),  z̄ = (1/n) Σ_i z_i            (Lemma 5.2's lower bound on I(f; D))
//! student: d-100-100-100-100-1 ReLU MLP, PyTorch init (seed), MSE, Adam (lr), full batch or
//!          minibatches shuffled per epoch (crate::model::mlp::Trainer, f32 as in PyTorch)
//! IMP:    level 0 trains dense for E epochs; level j ≥ 1 keeps k_j = k_{j−1} − ⌈0.2 k_{j−1}⌉ of
//!         the weights (biases kept) by trained |θ| (Imp::level_cut, the rule of crate::prune::Imp),
//!         rewinds the survivors to θ0 (or keeps the trained weights: Rewind::None) with a fresh
//!         Adam state and trains E epochs; levels 0..=prunes are all trained
//! sweep:  no pruning, E epochs per value of the learning rate or of the gradient-noise variance
//! after every epoch: C and the training loss, both at the parameters after the epoch (the same
//!         network: the loss from the same forward pass over the training inputs as C)
//! rows:   per (curve, epoch): mean and standard error s/√k of C over the k seeds that have not
//!         diverged by then (a NaN/∞ loss stops a seed's run; its later epochs are missing, never
//!         averaged), and the mean training loss
//! ```
//!
//! The training loss is the core's MSE `L = (1/n) Σ_i ½ (f(x_i) − y_i)²` (half of PyTorch's
//! `MSELoss`) over the whole training set at the parameters after the epoch, from the same
//! outputs `f(x_i)` as `C` (not the optimizer's running mean over the epoch's batches, which
//! is taken at the parameters before each step). `C` and `L` are accumulated in `f64` from the
//! `f32` outputs, in point order.
//!
//! **IMP through one rule.** [`crate::prune::Imp`]'s `Pruner::prune` trains through
//! `Networks::train`, which always starts from `θ0 ⊙ m`, never trains the last mask, and does not
//! expose per-epoch state; this experiment needs all three (`--rewind none`, a trained final
//! level, `C` every epoch). So it runs its own level loop over a [`Trainer`] and shares the
//! per-level cut ([`Imp::level_cut`]) and the kept-count schedule ([`Imp::schedule`]) with
//! `Imp`, which calls the same two functions.
//!
//! **Parallelism and determinism.** Each (seed, curve) is one job on one thread (rayon), with
//! single-threaded GEMMs; results are collected and reduced in seed order, so the rows do not
//! depend on `--threads` or on `--shard` (a shard runs a contiguous range of seeds,
//! [`crate::record::Shard::range`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::teacher::{TeacherData, TeacherSpec};
use crate::experiments::pipeline::{Experiment, Session};
use crate::model::mlp::{Mlp, MlpError};
use crate::model::{Control, Dataset, Loss, Model, Optimizer, Targets, TrainConfig, Trainer};
use crate::prune::Imp;

/// Per-level pruning rate of IMP (SPEC §7).
pub const IMP_RATE: f64 = 0.2;

/// Bytes a seed run holds per weight of the student, whatever the data: parameters,
/// gradients and Adam's moments, the initial and rewound copies, masks and magnitude scores.
/// Measured as the slope of the peak resident memory over the weight count (67–90 B at two
/// prunes, about 1 B more per prune; `docs/large-runs.md`, "Memory"), rounded up; the CLI adds
/// 2 B per weight and IMP level.
pub const BYTES_PER_WEIGHT: u128 = 96;

/// What the weights of a new IMP level start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rewind {
    /// The initial weights `θ0 ⊙ m` (Frankle et al.'s rewinding to init; the default).
    Init,
    /// The trained weights of the previous level, masked.
    None,
}

/// The swept quantity of Fig. 1e / 1f.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepKind {
    /// Adam's learning rate (Fig. 1e).
    Lr,
    /// Variance of Gaussian noise added to every gradient coordinate (Fig. 1f).
    GradNoise,
}

impl SweepKind {
    /// The command-line name (`lr`, `grad-noise`).
    pub fn name(self) -> &'static str {
        match self {
            SweepKind::Lr => "lr",
            SweepKind::GradNoise => "grad-noise",
        }
    }
}

/// IMP levels or a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// IMP: `prunes` prunes, `epochs_per_level` epochs at each of the `prunes + 1` levels.
    Imp {
        /// Number of prunes.
        prunes: usize,
        /// Epochs of every level.
        epochs_per_level: usize,
        /// Where each level's weights start.
        rewind: Rewind,
    },
    /// A sweep without pruning: `epochs` epochs per value.
    Sweep {
        /// What is swept.
        kind: SweepKind,
        /// Its values, in order.
        values: Vec<f64>,
        /// Epochs per run.
        epochs: usize,
    },
}

/// A validated noise-correlation run (the `config` of its run record).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseCorrConfig {
    /// Data: dimension, teacher, `n`, `M`, `σ²`.
    pub data: TeacherSpec,
    /// Hidden widths of the student (SPEC §7: four of 100).
    pub student_hidden: Vec<usize>,
    /// Adam's learning rate (a `lr` sweep overrides it per value).
    pub lr: f64,
    /// Minibatch size (`None`: full batch).
    pub batch_size: Option<usize>,
    /// First seed.
    pub seed: u64,
    /// Number of seeds (`seed, seed + 1, …`).
    pub seeds: usize,
    /// IMP or sweep.
    pub schedule: Schedule,
    /// Kept fractions below which a layer trains and evaluates on its sparse kernel
    /// ([`TrainConfig::sparse_below`]). Files written before they existed read the measured
    /// defaults: their tables came from an earlier kernel set (dense training, a separate sparse
    /// evaluator) and were regenerated, not verified.
    #[serde(default = "measured")]
    pub sparse_below: crate::model::sparse::SparseBelow,
}

fn measured() -> crate::model::sparse::SparseBelow {
    crate::model::sparse::SparseBelow::MEASURED
}

/// One seed's curve: `C` and the training loss after each epoch, up to divergence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// `C` after epochs 1, 2, … (only epochs before divergence).
    pub corr: Vec<f64>,
    /// Training loss of the same epochs.
    pub loss: Vec<f64>,
    /// The epoch (1-based, from the start of the run) whose loss was not finite, if any.
    pub diverged_at: Option<usize>,
}

/// Everything one seed produced: one curve per sweep value, or one IMP curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Its curves, in the order of [`NoiseCorrConfig::curves`].
    pub curves: Vec<Curve>,
}

/// Where one job's time went (CPU seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Drawing the data.
    pub data: Duration,
    /// Optimizer steps.
    pub train: Duration,
    /// Forward passes over the training inputs for `f(x_i)`.
    pub eval_train: Duration,
    /// Forward passes over the μ-sample for `E_μ f`.
    pub eval_mc: Duration,
    /// IMP cuts and resets.
    pub prune: Duration,
}

impl Timing {
    fn add(&mut self, o: &Timing) {
        self.data += o.data;
        self.train += o.train;
        self.eval_train += o.eval_train;
        self.eval_mc += o.eval_mc;
        self.prune += o.prune;
    }
}

/// One output row (SPEC §8): columns `level,density,epoch,corr_mean,corr_se,train_loss_mean,seeds`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrRow {
    /// IMP level (0: dense; always 0 in a sweep).
    pub level: usize,
    /// Kept fraction of the weights at this level.
    pub density: f64,
    /// Epoch, counted from the start of the run (1 after the first).
    pub epoch: usize,
    /// Mean of `C` over the seeds (empty when every seed diverged).
    pub corr_mean: Option<f64>,
    /// Its standard error `s/√k` (empty for one seed, or when every seed diverged).
    pub corr_se: Option<f64>,
    /// Mean training loss `(1/n) Σ ½ (f(x_i) − y_i)²` at the parameters after the epoch (the
    /// network `C` describes).
    pub train_loss_mean: Option<f64>,
    /// Seeds averaged (those not diverged by this epoch).
    pub seeds: usize,
}

/// A sweep's row: `sweep,value` then the [`CorrRow`] columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// `lr` or `grad-noise`.
    pub sweep: String,
    /// The swept value.
    pub value: f64,
    /// The rest of the row.
    #[serde(flatten)]
    pub row: CorrRow,
}

/// The rows of a run: IMP rows or sweep rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Rows {
    /// IMP (Fig. 1d, Fig. 2).
    Imp(Vec<CorrRow>),
    /// A sweep (Fig. 1e, 1f).
    Sweep(Vec<SweepRow>),
}

/// Seeds that diverged, per curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// The sweep value (`None` for IMP).
    pub value: Option<f64>,
    /// Seeds whose run diverged.
    pub diverged_seeds: usize,
    /// `(seed, epoch)` of each.
    pub at: Vec<(u64, usize)>,
}

impl NoiseCorrConfig {
    /// The student network `d-h_1-…-1` (MSE).
    pub fn student(&self) -> Result<Mlp, MlpError> {
        let mut widths = vec![self.data.d];
        widths.extend(&self.student_hidden);
        widths.push(1);
        Mlp::new(&widths, Loss::Mse)
    }

    /// Number of prunable weights of the student.
    pub fn weights(&self) -> Result<usize, MlpError> {
        Ok(self.student()?.weight_indices().len())
    }

    /// Largest number of prunes that leaves at least one weight (IMP's schedule down to 1).
    pub fn max_prunes(weights: usize) -> usize {
        Imp { rate: IMP_RATE }.schedule(weights, 1).len()
    }

    /// The kept weight counts of levels `0..=prunes` (level 0: all).
    pub fn kept_counts(&self) -> Result<Vec<usize>, MlpError> {
        let w = self.weights()?;
        let mut ks = vec![w];
        if let Schedule::Imp { prunes, .. } = self.schedule {
            ks.extend(
                Imp { rate: IMP_RATE }
                    .schedule(w, 1)
                    .into_iter()
                    .take(prunes),
            );
        }
        Ok(ks)
    }

    /// Curves per seed: `(sweep value or None, lr, gradient-noise variance)`.
    pub fn curves(&self) -> Vec<(Option<f64>, f64, f64)> {
        match &self.schedule {
            Schedule::Imp { .. } => vec![(None, self.lr, 0.0)],
            Schedule::Sweep { kind, values, .. } => values
                .iter()
                .map(|&v| match kind {
                    SweepKind::Lr => (Some(v), v, 0.0),
                    SweepKind::GradNoise => (Some(v), self.lr, v),
                })
                .collect(),
        }
    }

    /// Epochs of one curve.
    pub fn epochs(&self) -> usize {
        match &self.schedule {
            Schedule::Imp {
                prunes,
                epochs_per_level,
                ..
            } => (prunes + 1) * epochs_per_level,
            Schedule::Sweep { epochs, .. } => *epochs,
        }
    }

    /// Epochs per level (a sweep is one level).
    fn level_epochs(&self) -> usize {
        match &self.schedule {
            Schedule::Imp {
                epochs_per_level, ..
            } => *epochs_per_level,
            Schedule::Sweep { epochs, .. } => *epochs,
        }
    }
}

/// `C = (1/n) Σ f(x_i) z_i − E_μ f · z̄` from the outputs on the training set and the μ-sample.
pub fn correlation<T: crate::model::Scalar>(f_train: &[T], z: &[f64], f_mc: &[T]) -> f64 {
    let n = z.len() as f64;
    let fz: f64 = f_train
        .iter()
        .zip(z)
        .map(|(f, z)| f.to_f64() * z)
        .sum::<f64>()
        / n;
    let z_bar = z.iter().sum::<f64>() / n;
    let e_mu = f_mc.iter().map(|f| f.to_f64()).sum::<f64>() / f_mc.len() as f64;
    fz - e_mu * z_bar
}

/// The training state of one seed: data in `f32`, the student and its init.
struct SeedSetup {
    data: TeacherData,
    train: Dataset<f32>,
    mc: Vec<f32>,
    mlp: Mlp,
    init: Vec<f32>,
}

fn setup(config: &NoiseCorrConfig, seed: u64) -> Result<SeedSetup, MlpError> {
    let data = config.data.generate(seed)?;
    let mlp = config.student()?;
    // The `f32` copies of the inputs and the μ-sample are allocated fallibly, as the data are.
    let cv = |v: &[f64]| -> Result<Vec<f32>, crate::memory::OutOfMemory> {
        let mut out = crate::memory::try_with_capacity(
            v.len(),
            "the f32 data of a seed",
            "lower `--n`, `--mc`, `--d` or `--threads`",
        )?;
        out.extend(v.iter().map(|&v| v as f32));
        Ok(out)
    };
    let train = Dataset::new(&mlp, cv(&data.x)?, Targets::Values(cv(&data.y)?))?;
    let mc = cv(&data.mc)?;
    let init = cv(&mlp.init_params(seed))?;
    Ok(SeedSetup {
        data,
        train,
        mc,
        mlp,
        init,
    })
}

/// The training loss `(1/n) Σ_i ½ (f(x_i) − y_i)²` of one output per point, accumulated in
/// `f64` in point order from the `f32` outputs and targets.
fn mse_half(f: &[f32], y: &[f32]) -> f64 {
    let sum: f64 = f
        .iter()
        .zip(y)
        .map(|(&f, &y)| {
            let e = f as f64 - y as f64;
            0.5 * e * e
        })
        .sum();
    sum / f.len().max(1) as f64
}

/// Seed of the trainer's shuffle and gradient-noise streams for `seed`.
pub fn train_seed(seed: u64) -> u64 {
    seed.wrapping_add(1 << 62)
}

/// Runs curve `curve` (index into [`NoiseCorrConfig::curves`]) of seed `seed`.
///
/// When `stop` becomes set the run ends at the next epoch (its curve is then incomplete: the
/// caller discards it).
pub fn run_curve(
    config: &NoiseCorrConfig,
    seed: u64,
    curve: usize,
    stop: &AtomicBool,
) -> Result<(Curve, Timing), MlpError> {
    let mut timing = Timing::default();
    let t0 = Instant::now();
    let s = setup(config, seed)?;
    timing.data = t0.elapsed();
    let (_, lr, noise) = config.curves()[curve];
    let train_config = TrainConfig {
        optimizer: Optimizer::adam(lr),
        batch_size: config.batch_size,
        grad_noise_variance: noise,
        seed: train_seed(seed),
        sparse_below: config.sparse_below,
    };
    let n = s.train.len();
    let mut trainer = Trainer::<_, f32>::new(&s.mlp, train_config, n);
    let (prunes, rewind) = match config.schedule {
        Schedule::Imp { prunes, rewind, .. } => (prunes, rewind),
        Schedule::Sweep { .. } => (0, Rewind::Init),
    };
    let ks = config.kept_counts()?;
    let weights = s.mlp.weight_indices();
    let biases: Vec<usize> = (0..s.mlp.num_params())
        .filter(|&i| !s.mlp.is_weight(i))
        .collect();
    let mut kept = weights.clone();
    let mut out = Curve {
        corr: Vec::with_capacity(config.epochs()),
        loss: Vec::with_capacity(config.epochs()),
        diverged_at: None,
    };
    let mut f_train = vec![0f32; n];
    let mut f_mc = vec![0f32; config.data.mc];
    let m = config.data.mc;
    let z = &s.data.z;
    let targets: &[f32] = match s.train.targets() {
        crate::model::TargetsRef::Values(v) => v,
        _ => unreachable!("the teacher's targets are values"),
    };
    let epochs = config.level_epochs();
    for (level, &k) in ks.iter().enumerate().take(prunes + 1) {
        let tp = Instant::now();
        if level == 0 {
            trainer.reset(&s.init, None);
        } else {
            let trained: Vec<f64> = trainer.params().iter().map(|&w| w as f64).collect();
            let cut = Imp::level_cut(&trained, &kept, k);
            kept = cut.mask.kept().collect();
            let mut mask = vec![false; s.mlp.num_params()];
            for &i in kept.iter().chain(&biases) {
                mask[i] = true;
            }
            let start = match rewind {
                Rewind::Init => s.init.clone(),
                Rewind::None => trainer.params().to_vec(),
            };
            trainer.reset(&start, Some(&mask));
        }
        timing.prune += tp.elapsed();
        let mut last = Instant::now();
        let outcome = trainer.train(&s.train, epochs, |t, _stats| {
            let now = Instant::now();
            timing.train += now - last;
            t.evaluate(s.train.inputs(), n, &mut f_train);
            let mid = Instant::now();
            timing.eval_train += mid - now;
            t.evaluate(&s.mc, m, &mut f_mc);
            let c = correlation(&f_train, z, &f_mc);
            last = Instant::now();
            timing.eval_mc += last - mid;
            out.corr.push(c);
            // The loss of the network C describes: the parameters after the epoch.
            out.loss.push(mse_half(&f_train, targets));
            if c.is_finite() && !stop.load(Ordering::Relaxed) {
                Control::Continue
            } else {
                Control::Stop
            }
        });
        let done = out.corr.len();
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if outcome.diverged || out.corr.last().is_some_and(|c| !c.is_finite()) {
            // The epoch whose loss (or C) was not finite is not recorded.
            let at = level * epochs + outcome.epochs;
            out.corr.truncate(at - 1);
            out.loss.truncate(at - 1);
            out.diverged_at = Some(at);
            break;
        }
        debug_assert_eq!(done, (level + 1) * epochs);
    }
    Ok((out, timing))
}

/// Runs seeds `seeds` (a shard's range) of `config` on the current rayon pool, one job per
/// (seed, curve); returns the results in seed order and the summed timing. When `stop` is set
/// (a stop signal) the jobs end early and the results are incomplete: check `stop` after.
pub fn run_seeds(
    config: &NoiseCorrConfig,
    seeds: std::ops::Range<u64>,
    stop: &AtomicBool,
    progress: &(dyn Fn() + Sync),
) -> Result<(Vec<SeedResult>, Timing), MlpError> {
    let (results, timing) = run_jobs(config, seeds, &[], stop, progress, &|_, _| {})?;
    Ok((results.unwrap_or_default(), timing))
}

/// The index of the job (seed offset `i` from `config.seed`, curve `c`): `i · curves + c`.
pub fn job_index(config: &NoiseCorrConfig, i: u64, c: usize) -> u64 {
    i * config.curves().len() as u64 + c as u64
}

/// [`run_seeds`] that resumes: the jobs in `finished` ([`job_index`], curve; from a
/// checkpoint) are not run again, and `on_job` gets every job that finishes here (a complete
/// or diverged curve, never one a stop cut short). Returns `None` for the results when `stop`
/// ended the run before every job finished.
pub fn run_jobs(
    config: &NoiseCorrConfig,
    seeds: std::ops::Range<u64>,
    finished: &[(u64, Curve)],
    stop: &AtomicBool,
    progress: &(dyn Fn() + Sync),
    on_job: &(dyn Fn(u64, &Curve) + Sync),
) -> Result<(Option<Vec<SeedResult>>, Timing), MlpError> {
    let curves = config.curves().len();
    let epochs = config.epochs();
    let jobs: Vec<(u64, usize)> = seeds
        .clone()
        .flat_map(|i| (0..curves).map(move |c| (i, c)))
        .collect();
    let done = jobs
        .par_iter()
        .map(|&(i, c)| {
            let index = job_index(config, i, c);
            if let Some((_, curve)) = finished.iter().find(|(j, _)| *j == index) {
                progress();
                return Ok((Some(curve.clone()), Timing::default()));
            }
            if stop.load(Ordering::SeqCst) {
                return Ok((None, Timing::default()));
            }
            let (curve, timing) = run_curve(config, config.seed.wrapping_add(i), c, stop)?;
            let complete = curve.diverged_at.is_some() || curve.corr.len() == epochs;
            if !complete {
                return Ok((None, timing));
            }
            on_job(index, &curve);
            progress();
            Ok((Some(curve), timing))
        })
        .collect::<Result<Vec<_>, MlpError>>()?;
    let mut timing = Timing::default();
    let mut results: Vec<SeedResult> = Vec::new();
    let mut all = true;
    for ((i, _), (curve, t)) in jobs.iter().zip(done) {
        timing.add(&t);
        let Some(curve) = curve else {
            all = false;
            continue;
        };
        let seed = config.seed.wrapping_add(*i);
        match results.last_mut() {
            Some(r) if r.seed == seed => r.curves.push(curve),
            _ => results.push(SeedResult {
                seed,
                curves: vec![curve],
            }),
        }
    }
    Ok((all.then_some(results), timing))
}

/// A noise-correlation run as the [`Executor`](crate::experiments::pipeline::Executor) drives
/// it: its jobs (seed, curve), its shard's seeds, in parallel on the current pool
/// ([`run_jobs`]), each finished job reported as progress.
pub struct NoiseCorrRun<'a> {
    /// The run: configuration and shard.
    pub record: &'a crate::record::RunRecord<NoiseCorrConfig>,
}

impl NoiseCorrRun<'_> {
    /// The run's seeds (offsets from `config.seed`), its shard's.
    pub fn seeds(&self) -> std::ops::Range<u64> {
        self.record
            .shard
            .unwrap_or(crate::record::Shard::WHOLE)
            .range(self.record.config.seeds as u64)
    }

    /// Its jobs: seeds × curves.
    fn jobs(&self) -> u64 {
        self.seeds().count() as u64 * self.record.config.curves().len() as u64
    }
}

impl Experiment for NoiseCorrRun<'_> {
    type Config = NoiseCorrConfig;
    type Progress = NoiseCorrProgress;
    type Output = (Vec<SeedResult>, Timing);

    fn record(&self) -> &crate::record::RunRecord<NoiseCorrConfig> {
        self.record
    }

    fn work(&self) -> (u64, &'static str) {
        (self.jobs(), "seed runs")
    }

    fn start(&self) -> NoiseCorrProgress {
        NoiseCorrProgress { jobs: Vec::new() }
    }

    fn describe(&self, progress: &NoiseCorrProgress) -> String {
        format!(
            "{} of {} seed runs finished",
            progress.jobs.len(),
            self.jobs()
        )
    }

    fn advance(
        &self,
        from: &NoiseCorrProgress,
        session: &Session<'_, Self>,
    ) -> anyhow::Result<Option<Self::Output>> {
        let (results, timing) = run_jobs(
            &self.record.config,
            self.seeds(),
            &from.jobs,
            session.stop_flag(),
            &|| session.work_done(1),
            &|index, curve| {
                session.update(|p| {
                    p.jobs.push((index, curve.clone()));
                    p.jobs.sort_by_key(|(j, _)| *j);
                })
            },
        )
        .map_err(|e| anyhow::Error::new(e).context("noise-corr"))?;
        Ok(results.map(|r| (r, timing)))
    }
}

/// Mean and standard error `s/√k` in order (`None` for no values; the standard error is
/// `None` for one value too: one seed has no spread to estimate, and 0 would claim none).
fn mean_se(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let k = values.len();
    if k == 0 {
        return (None, None);
    }
    let mean = values.iter().sum::<f64>() / k as f64;
    if k == 1 {
        return (Some(mean), None);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (k - 1) as f64;
    (Some(mean), Some((var / k as f64).sqrt()))
}

/// The rows of all seeds' results (seed order), and the divergences per curve.
pub fn rows(
    config: &NoiseCorrConfig,
    results: &[SeedResult],
) -> Result<(Rows, Vec<Divergence>), MlpError> {
    let ks = config.kept_counts()?;
    let weights = ks[0] as f64;
    let per_level = config.level_epochs();
    let curves = config.curves();
    let mut imp_rows = Vec::new();
    let mut sweep_rows = Vec::new();
    let mut divergences = Vec::new();
    for (c, &(value, _, _)) in curves.iter().enumerate() {
        for epoch in 1..=config.epochs() {
            let level = (epoch - 1) / per_level;
            let (mut corr, mut loss) = (Vec::new(), Vec::new());
            for r in results {
                let curve = &r.curves[c];
                if let (Some(&cv), Some(&lv)) =
                    (curve.corr.get(epoch - 1), curve.loss.get(epoch - 1))
                {
                    corr.push(cv);
                    loss.push(lv);
                }
            }
            let (corr_mean, corr_se) = mean_se(&corr);
            let row = CorrRow {
                level,
                density: ks[level] as f64 / weights,
                epoch,
                corr_mean,
                corr_se,
                train_loss_mean: mean_se(&loss).0,
                seeds: corr.len(),
            };
            match (value, &config.schedule) {
                (Some(v), Schedule::Sweep { kind, .. }) => sweep_rows.push(SweepRow {
                    sweep: kind.name().to_string(),
                    value: v,
                    row,
                }),
                _ => imp_rows.push(row),
            }
        }
        let at: Vec<(u64, usize)> = results
            .iter()
            .filter_map(|r| r.curves[c].diverged_at.map(|e| (r.seed, e)))
            .collect();
        divergences.push(Divergence {
            value,
            diverged_seeds: at.len(),
            at,
        });
    }
    let rows = match config.schedule {
        Schedule::Imp { .. } => Rows::Imp(imp_rows),
        Schedule::Sweep { .. } => Rows::Sweep(sweep_rows),
    };
    Ok((rows, divergences))
}

/// Format tag of noise-correlation shard files.
pub const SHARD_FORMAT: &str = "peff-noise-corr-shard-1";

/// What a noise-correlation `--shard i/N` file holds beside the envelope of
/// [`crate::record::ShardFile`]: its seeds' exact results. Values are `f64` in shortest
/// round-trip form (serde_json's `float_roundtrip`), so a merge reproduces the unsharded rows
/// bit for bit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseCorrSeeds {
    /// Results of the shard's seeds, in seed order.
    pub results: Vec<SeedResult>,
}

/// A noise-correlation `--shard i/N` file.
pub type NoiseCorrShard = crate::record::ShardFile<NoiseCorrConfig, NoiseCorrSeeds>;

impl crate::record::ShardPayload<NoiseCorrConfig> for NoiseCorrSeeds {
    const FORMAT: &'static str = SHARD_FORMAT;
    const WHAT: &'static str = "a peff noise-corr shard file";

    /// The file is a `--shard` run's, and its results are the shard's seeds with one curve
    /// per configured curve, no longer than the run.
    fn check(&self, run: &crate::record::RunRecord<NoiseCorrConfig>) -> anyhow::Result<()> {
        use anyhow::{bail, Context};
        let shard = run.shard.context("not a shard: `run.shard` is missing")?;
        let config = &run.config;
        let (curves, epochs) = (config.curves().len(), config.epochs());
        config.kept_counts().context("recorded configuration")?;
        let range = shard.range(config.seeds as u64);
        if self.results.len() as u64 != range.end - range.start
            || self.results.iter().zip(range).any(|(r, i)| {
                r.seed != config.seed.wrapping_add(i)
                    || r.curves.len() != curves
                    || r.curves.iter().any(|c| {
                        c.corr.len() != c.loss.len()
                            || c.corr.len() > epochs
                            || (c.diverged_at.is_none() && c.corr.len() != epochs)
                            || c.diverged_at.is_some_and(|e| e != c.corr.len() + 1)
                    })
            })
        {
            bail!("results do not match the recorded configuration and shard");
        }
        Ok(())
    }
}

/// Format tag of noise-correlation checkpoints.
pub const CHECKPOINT_FORMAT: &str = "peff-noise-corr-checkpoint-1";

/// What a noise-correlation `--checkpoint` holds beside the envelope: the jobs (seed, curve)
/// finished so far, by [`job_index`], ascending.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseCorrProgress {
    /// `(job index, its complete or diverged curve)`, ascending by index.
    pub jobs: Vec<(u64, Curve)>,
}

impl crate::record::ShardPayload<NoiseCorrConfig> for NoiseCorrProgress {
    const FORMAT: &'static str = CHECKPOINT_FORMAT;
    const WHAT: &'static str = "a peff noise-corr checkpoint";

    /// Every job is one of the run's (shard's) jobs, once, with a complete or diverged curve.
    fn check(&self, run: &crate::record::RunRecord<NoiseCorrConfig>) -> anyhow::Result<()> {
        use anyhow::{bail, Context};
        let config = &run.config;
        config.kept_counts().context("recorded configuration")?;
        let range = run
            .shard
            .unwrap_or(crate::record::Shard::WHOLE)
            .range(config.seeds as u64);
        let curves = config.curves().len() as u64;
        let epochs = config.epochs();
        let (lo, hi) = (range.start * curves, range.end * curves);
        let ascending = self.jobs.windows(2).all(|w| w[0].0 < w[1].0);
        if !ascending
            || self.jobs.iter().any(|(j, c)| {
                !(lo..hi).contains(j)
                    || c.corr.len() != c.loss.len()
                    || c.corr.len() > epochs
                    || (c.diverged_at.is_none() && c.corr.len() != epochs)
                    || c.diverged_at.is_some_and(|e| e != c.corr.len() + 1)
            })
        {
            bail!("its jobs do not match the recorded configuration and shard");
        }
        Ok(())
    }
}

/// Merges complete shards of one run (same run, same count, each once) into the whole run's
/// record and its results in seed order.
pub fn merge(
    parts: &[NoiseCorrShard],
) -> anyhow::Result<(crate::record::RunRecord<NoiseCorrConfig>, Vec<SeedResult>)> {
    let (ordered, whole) = crate::record::order_shards(parts, |p: &NoiseCorrShard| &p.run)?;
    let results = ordered
        .into_iter()
        .flat_map(|p| p.payload.results.clone())
        .collect();
    Ok((whole, results))
}
