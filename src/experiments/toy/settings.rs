//! The toy experiment's settings as a user gives them — the flags of `peff exact`, `sample`,
//! `converge`, `scaling` and `stochastic`, and the keyword arguments of `peff.exact` and
//! `peff.sample` (the flags with `-` → `_`) — and their one validation into a
//! [`ToyExperiment`] ([`ToySettings::validate`]). The command line fills a [`ToySettings`] from
//! its flags and Python from its keyword arguments; neither validates anything itself, so both
//! refuse the same values with the same one-line message, naming the flag and the value.
//!
//! ```text
//! shape    the task's preset (regression: d=3, h=4, o=1, MSE; classification: d=3, h=3, o=2,
//!          cross-entropy), --input-dim ≤ 16 and --hidden ≤ 64 overriding it, p ≤ 64
//! k        --k (each in [1, p − 1]), or --sparsity s with k = round((1 − s)·p), or 1..p − 1
//! inits    --init FILE, or seeds --init-seed .. --init-seed + --inits − 1
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::ToyExperiment;
use crate::data::DataSpace;
use crate::model::toy::init_file::InitFile;
use crate::model::toy::lanes::TrainParams;
use crate::model::toy::ToyShape;
use crate::model::Loss;
use crate::prune::PruneSettings;
use crate::settings::{count_in, quote, split_list, worker_threads, PruneChoice};

/// Default of `--n`.
pub const DEFAULT_N: i64 = 6;
/// Default of `--steps`.
pub const DEFAULT_STEPS: i64 = 2000;
/// Default of `--lr`.
pub const DEFAULT_LR: f64 = 0.1;
/// Default of `--max-datasets`.
pub const DEFAULT_MAX_DATASETS: u64 = 100_000_000;
/// Default of `--checkpoint-interval`, seconds.
pub const DEFAULT_CHECKPOINT_INTERVAL: f64 = 30.0;
/// Default of `--samples` of `peff sample`.
pub const DEFAULT_SAMPLES: i64 = 32_000;
/// Largest `--samples` of `peff sample`.
pub const MAX_SAMPLES: i64 = 1_000_000_000;

/// A toy run's settings as given, before validation; [`Default`] is `peff exact` without
/// flags.
#[derive(Clone, Debug, PartialEq)]
pub struct ToySettings {
    /// The preset: `regression` or `classification`.
    pub task: String,
    /// Points per dataset.
    pub n: i64,
    /// Input dimension (`None`: the preset's).
    pub input_dim: Option<i64>,
    /// Hidden width (`None`: the preset's).
    pub hidden: Option<i64>,
    /// Gradient-descent steps.
    pub steps: i64,
    /// Learning rate.
    pub lr: f64,
    /// The pruning methods and their settings.
    pub prune: PruneChoice,
    /// Comma-separated kept counts (`None`: `sparsity`, or every `k` from 1 to `p − 1`).
    pub k: Option<String>,
    /// Comma-separated sparsities.
    pub sparsity: Option<String>,
    /// Seed of the PyTorch-style init.
    pub init_seed: u64,
    /// Init file instead of a seeded init.
    pub init: Option<PathBuf>,
    /// Init seeds to run (`None`: 1).
    pub inits: Option<i64>,
    /// Seed of random pruning's streams.
    pub random_seed: u64,
    /// Worker threads (0: all cores).
    pub threads: i64,
    /// Most datasets per run or shard (`None`: [`DEFAULT_MAX_DATASETS`]).
    pub max_datasets: Option<i64>,
    /// Whether progress is saved to a checkpoint file.
    pub checkpoint: bool,
    /// Seconds between checkpoint saves (`None`: [`DEFAULT_CHECKPOINT_INTERVAL`]).
    pub checkpoint_interval: Option<f64>,
}

impl Default for ToySettings {
    fn default() -> Self {
        ToySettings {
            task: "regression".to_string(),
            n: DEFAULT_N,
            input_dim: None,
            hidden: None,
            steps: DEFAULT_STEPS,
            lr: DEFAULT_LR,
            prune: PruneChoice::default(),
            k: None,
            sparsity: None,
            init_seed: 0,
            init: None,
            inits: None,
            random_seed: 0,
            threads: 0,
            max_datasets: None,
            checkpoint: false,
            checkpoint_interval: None,
        }
    }
}

/// Validated [`ToySettings`].
#[derive(Clone, Debug)]
pub struct ValidToy {
    /// The experiment for the first init.
    pub experiment: ToyExperiment,
    /// Init seeds to run (one unless `inits`; none when the init comes from a file).
    pub init_seeds: Vec<u64>,
    /// Worker threads (resolved).
    pub threads: usize,
    /// Most datasets per run or shard (default applied).
    pub max_datasets: u64,
    /// Seconds between checkpoint saves (default applied).
    pub checkpoint_interval: f64,
}

impl ToySettings {
    /// Validates every setting and builds the experiment (reading the init file if given).
    pub fn validate(&self) -> anyhow::Result<ValidToy> {
        let preset = ToyShape::preset(&self.task).with_context(|| {
            format!(
                "`--task` must be regression or classification, got {}",
                quote(&self.task)
            )
        })?;
        let (d0, h0, o, loss) = (
            preset.input_dim as i64,
            preset.hidden as i64,
            preset.outputs,
            preset.loss,
        );
        let input_dim = count_in("--input-dim", self.input_dim.unwrap_or(d0), 16)?;
        let hidden = count_in("--hidden", self.hidden.unwrap_or(h0), 64)?;
        let shape = ToyShape {
            input_dim,
            hidden,
            outputs: o,
            loss,
        };
        let p = shape.num_params();
        if p > 64 {
            bail!("the toy model has p = {p} parameters; peff's toy pipeline supports p ≤ 64 (reduce `--hidden` or `--input-dim`)");
        }
        let n = count_in("--n", self.n, 30)?;
        let steps = count_in("--steps", self.steps, 10_000_000)?;
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("`--lr` must be a finite number > 0, got {}", self.lr);
        }
        let prune = self.prune.validate(loss == Loss::CrossEntropy)?;
        let checkpoint_interval = self
            .checkpoint_interval
            .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
        if !(checkpoint_interval.is_finite() && (0.0..=1e9).contains(&checkpoint_interval)) {
            bail!("`--checkpoint-interval` must be a finite number ≥ 0 (seconds, at most 1e9), got {checkpoint_interval}");
        }
        if self.checkpoint_interval.is_some() && !self.checkpoint {
            bail!("`--checkpoint-interval` needs `--checkpoint FILE`");
        }
        let max_datasets = match self.max_datasets {
            None => DEFAULT_MAX_DATASETS,
            Some(m) if m >= 1 => m as u64,
            Some(m) => bail!("`--max-datasets` must be ≥ 1, got {m}"),
        };
        let requested_k = self.kept_counts(p)?;
        let inits = count_in("--inits", self.inits.unwrap_or(1), 10_000)?;
        if self.init_seed.checked_add(inits as u64 - 1).is_none() {
            bail!(
                "`--init-seed` {} with `--inits {inits}` runs past the largest seed 2^64 − 1; use a smaller `--init-seed`",
                self.init_seed
            );
        }
        let threads = worker_threads(self.threads)?;
        let (init, init_seed) = match &self.init {
            Some(path) => {
                let text =
                    crate::input::read_capped_text(path, crate::input::MAX_INIT_BYTES, "`--init`")?;
                let params = InitFile::parse(&text)
                    .and_then(|f| f.to_params(&shape.layers()))
                    .with_context(|| format!("`--init` '{}'", path.display()))?;
                (params, None)
            }
            None => (shape.init_params(self.init_seed), Some(self.init_seed)),
        };
        let experiment = ToyExperiment {
            task: self.task.clone(),
            shape,
            space: DataSpace { input_dim, n },
            train: TrainParams { steps, lr: self.lr },
            prune: PruneSettings {
                random_seed: self.random_seed,
                synflow_rounds: prune.synflow_rounds,
                imp_rate: prune.imp_rate,
                grasp_temperature: prune.grasp_temperature,
            },
            methods: prune.methods,
            requested_k,
            init,
            init_seed,
        };
        experiment.validate()?;
        let init_seeds = match experiment.init_seed {
            Some(first) => (0..inits as u64)
                .map(|i| first.checked_add(i))
                .collect::<Option<Vec<u64>>>()
                .with_context(|| {
                    format!("`--init-seed` {first} + `--inits` {inits} exceeds the largest seed")
                })?,
            None => Vec::new(),
        };
        Ok(ValidToy {
            experiment,
            init_seeds,
            threads,
            max_datasets,
            checkpoint_interval,
        })
    }

    /// The requested kept counts, descending: `--k`, or `--sparsity` converted, each in
    /// `[1, p − 1]` (`k = p` keeps every weight: one mask, nothing to prune), no two equal.
    fn kept_counts(&self, p: usize) -> anyhow::Result<Vec<usize>> {
        let mut ks: Vec<usize> = match (&self.k, &self.sparsity) {
            (Some(list), _) => split_list("--k", list)?
                .into_iter()
                .map(|s| {
                    let k: i64 = s
                        .parse()
                        .map_err(|_| anyhow::anyhow!("`--k`: not an integer: {}", quote(s)))?;
                    if k < 1 || k >= p as i64 {
                        bail!(
                            "`--k` must be in [1, {}] (p = {p}; k = p would keep every weight), got {k}",
                            p - 1
                        );
                    }
                    Ok(k as usize)
                })
                .collect::<anyhow::Result<_>>()?,
            (None, Some(list)) => {
                let sparsities = split_list("--sparsity", list)?;
                let mut ks: Vec<usize> = Vec::new();
                for (i, s) in sparsities.iter().enumerate() {
                    let k = sparsity_to_k(s, p)?;
                    if let Some(j) = ks.iter().position(|&other| other == k) {
                        bail!(
                            "`--sparsity` {} and {s} both give k = {k} (p = {p}); give each k once",
                            sparsities[j]
                        );
                    }
                    debug_assert_eq!(ks.len(), i);
                    ks.push(k);
                }
                ks
            }
            (None, None) => (1..p).collect(),
        };
        ks.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ks)
    }
}

/// `peff sample`'s own settings: `samples` datasets, in `[1, MAX_SAMPLES]`, from the streams
/// of `seed`; validated, `(samples, seed)`.
pub fn sampling(samples: i64, seed: u64) -> anyhow::Result<(u64, u64)> {
    if !(1..=MAX_SAMPLES).contains(&samples) {
        bail!("`--samples` must be in [1, {MAX_SAMPLES}], got {samples}");
    }
    Ok((samples as u64, seed))
}

/// `k = round((1 − s)·p)` for one `--sparsity` value, which must give `k` in `[1, p − 1]`; the
/// error states the range of sparsities that do (rounded inwards to 4 decimals).
fn sparsity_to_k(s: &str, p: usize) -> anyhow::Result<usize> {
    let lowest = ((0.5 / p as f64) * 1e4).ceil() / 1e4;
    let highest = ((1.0 - 0.5 / p as f64) * 1e4).floor() / 1e4;
    let range = format!(
        "[{lowest:.4}, {highest:.4}] (p = {p}: k = round((1 − s)·p) must be in [1, {}])",
        p - 1
    );
    let sp: f64 = s
        .parse()
        .map_err(|_| anyhow::anyhow!("`--sparsity`: not a number: {}", quote(s)))?;
    if !sp.is_finite() {
        bail!("`--sparsity` must be in {range}, got {s}");
    }
    let k = ((1.0 - sp) * p as f64).round();
    if !(k >= 1.0 && k <= (p - 1) as f64) {
        bail!("`--sparsity` must be in {range}, got {s}");
    }
    Ok(k as usize)
}
