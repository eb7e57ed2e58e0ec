//! Argument groups shared by several subcommands, and their validation into library
//! configurations: [`ToyArgs`] (the toy experiment's flags of `exact`, `sample`, `converge`)
//! becomes a validated [`ToyExperiment`]; `--format` parses into [`Format`].
//!
//! Raw arguments are parsed once and checked here; library code only ever sees validated
//! values. Every error names the flag, the bad value and the valid range.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use crate::data::DataSpace;
use crate::experiments::toy::ToyExperiment;
use crate::export::Format;
use crate::model::init_file::InitFile;
use crate::model::lanes::TrainParams;
use crate::model::toy::{Loss, ToyShape};
use crate::prune::{Method, PruneSettings};

/// Flags shared by `exact` and `sample` (SPEC §6).
#[derive(Debug, Args, Clone)]
pub struct ToyArgs {
    /// Preset: regression (d=3, h=4, o=1, MSE, p=21) or classification (d=3, h=3, o=2, cross-entropy, p=20).
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Task::Regression)]
    pub task: Task,
    /// Points per dataset.
    #[arg(long, allow_hyphen_values = true, default_value_t = 6)]
    pub n: i64,
    /// Input dimension d (overrides the preset).
    #[arg(long, allow_hyphen_values = true)]
    pub input_dim: Option<i64>,
    /// Hidden width h (overrides the preset).
    #[arg(long, allow_hyphen_values = true)]
    pub hidden: Option<i64>,
    /// Gradient-descent steps T.
    #[arg(long, allow_hyphen_values = true, default_value_t = 2000)]
    pub steps: i64,
    /// Learning rate η.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.1)]
    pub lr: f64,
    /// IMP pruning rate per level.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.2)]
    pub imp_rate: f64,
    /// GraSP output temperature (default: 200 for cross-entropy, 1 for MSE).
    #[arg(long, allow_hyphen_values = true)]
    pub grasp_temperature: Option<f64>,
    /// SynFlow rounds.
    #[arg(long, allow_hyphen_values = true, default_value_t = 100)]
    pub synflow_rounds: i64,
    /// Comma-separated methods, or `all`: random, synflow, magnitude, imp, snip, grasp.
    #[arg(long, allow_hyphen_values = true, default_value = "all")]
    pub methods: String,
    /// Comma-separated kept counts k (default: every k from 1 to p − 1).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "sparsity")]
    pub k: Option<String>,
    /// Comma-separated sparsities in [0, 1), converted to k = round((1 − s)·p).
    #[arg(long, allow_hyphen_values = true)]
    pub sparsity: Option<String>,
    /// Seed of the PyTorch-style init.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub init_seed: u64,
    /// Init file (JSON, SPEC §9) instead of a seeded init.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "inits")]
    pub init: Option<PathBuf>,
    /// Write the init used to this file (JSON, SPEC §9).
    #[arg(long, allow_hyphen_values = true)]
    pub dump_init: Option<PathBuf>,
    /// Repeat for K init seeds (init-seed, init-seed+1, …) and report mean ± standard error.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1)]
    pub inits: i64,
    /// Seed of random pruning's streams.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub random_seed: u64,
    /// Worker threads (0: all cores).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub threads: i64,
    /// Directory for result files.
    #[arg(long, allow_hyphen_values = true, default_value = "results")]
    pub out: PathBuf,
    /// Result file name stem (default: `<command>-<task>`).
    #[arg(long, allow_hyphen_values = true)]
    pub name: Option<String>,
    /// Output format on stdout.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Refuse to enumerate more datasets than this (per shard).
    #[arg(long, allow_hyphen_values = true, default_value_t = 100_000_000)]
    pub max_datasets: u64,
    /// Compute only shard i of N (e.g. 0/7) and write a partial-result file for `peff merge`.
    #[arg(long, allow_hyphen_values = true)]
    pub shard: Option<String>,
    /// Save progress to this file and resume from it when rerun with the same flags.
    #[arg(long, allow_hyphen_values = true)]
    pub checkpoint: Option<PathBuf>,
    /// Seconds between checkpoint saves.
    #[arg(long, allow_hyphen_values = true, default_value_t = 30.0)]
    pub checkpoint_interval: f64,
}

/// Task presets (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Task {
    /// d = 3, h = 4, o = 1, MSE (p = 21).
    Regression,
    /// d = 3, h = 3, o = 2, softmax cross-entropy (p = 20).
    Classification,
}

impl Task {
    /// The preset name.
    pub fn name(self) -> &'static str {
        match self {
            Task::Regression => "regression",
            Task::Classification => "classification",
        }
    }
}

fn positive(flag: &str, value: i64, max: i64) -> anyhow::Result<usize> {
    if value < 1 || value > max {
        bail!("`{flag}` must be in [1, {max}], got {value}");
    }
    Ok(value as usize)
}

/// Validated settings of a toy run.
#[derive(Clone, Debug)]
pub struct ValidToyArgs {
    /// The experiment for the first init.
    pub experiment: ToyExperiment,
    /// Init seeds to run (one unless `--inits`; none when the init comes from `--init FILE`).
    pub init_seeds: Vec<u64>,
    /// Worker threads (resolved).
    pub threads: usize,
}

impl ToyArgs {
    /// Validates every flag and builds the experiment (loading `--init` if given).
    pub fn validate(&self) -> anyhow::Result<ValidToyArgs> {
        let (d0, h0, o, loss) = match self.task {
            Task::Regression => (3, 4, 1, Loss::Mse),
            Task::Classification => (3, 3, 2, Loss::CrossEntropy),
        };
        let input_dim = positive("--input-dim", self.input_dim.unwrap_or(d0), 16)?;
        let hidden = positive("--hidden", self.hidden.unwrap_or(h0), 64)?;
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
        let n = positive("--n", self.n, 30)?;
        let steps = positive("--steps", self.steps, 10_000_000)?;
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("`--lr` must be a finite number > 0, got {}", self.lr);
        }
        if !(self.imp_rate > 0.0 && self.imp_rate < 1.0) {
            bail!("`--imp-rate` must be in (0, 1), got {}", self.imp_rate);
        }
        let grasp_temperature = self.grasp_temperature.unwrap_or(match loss {
            Loss::Mse => 1.0,
            Loss::CrossEntropy => 200.0,
        });
        if !(grasp_temperature.is_finite() && grasp_temperature > 0.0) {
            bail!("`--grasp-temperature` must be a finite number > 0, got {grasp_temperature}");
        }
        let synflow_rounds = positive("--synflow-rounds", self.synflow_rounds, 100_000)?;
        if !(self.checkpoint_interval.is_finite() && self.checkpoint_interval >= 0.0) {
            bail!(
                "`--checkpoint-interval` must be a finite number ≥ 0, got {}",
                self.checkpoint_interval
            );
        }
        let methods = parse_methods(&self.methods)?;
        let requested_k = self.kept_counts(p)?;
        let inits = positive("--inits", self.inits, 10_000)?;
        if self.threads < 0 || self.threads > 1024 {
            bail!(
                "`--threads` must be in [0, 1024] (0: all cores), got {}",
                self.threads
            );
        }
        let threads = if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads as usize
        };
        let (init, init_seed) = match &self.init {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("`--init`: cannot read '{}'", path.display()))?;
                let params = InitFile::parse(&text)
                    .and_then(|f| f.to_params(&shape.layers()))
                    .with_context(|| format!("`--init` '{}'", path.display()))?;
                (params, None)
            }
            None => (shape.init_params(self.init_seed), Some(self.init_seed)),
        };
        let experiment = ToyExperiment {
            task: self.task.name().to_string(),
            shape,
            space: DataSpace { input_dim, n },
            train: TrainParams { steps, lr: self.lr },
            prune: PruneSettings {
                random_seed: self.random_seed,
                synflow_rounds,
                imp_rate: self.imp_rate,
                grasp_temperature,
            },
            methods,
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
        Ok(ValidToyArgs {
            experiment,
            init_seeds,
            threads,
        })
    }

    fn kept_counts(&self, p: usize) -> anyhow::Result<Vec<usize>> {
        let mut ks: Vec<usize> = match (&self.k, &self.sparsity) {
            (Some(list), _) => split_list("--k", list)?
                .into_iter()
                .map(|s| {
                    let k: i64 = s
                        .parse()
                        .map_err(|_| anyhow::anyhow!("`--k`: not an integer: '{s}'"))?;
                    if k < 1 || k > p as i64 {
                        bail!("`--k` must be in [1, {p}] (p = {p}), got {k}");
                    }
                    Ok(k as usize)
                })
                .collect::<anyhow::Result<_>>()?,
            (None, Some(list)) => split_list("--sparsity", list)?
                .into_iter()
                .map(|s| {
                    let sp: f64 = s
                        .parse()
                        .map_err(|_| anyhow::anyhow!("`--sparsity`: not a number: '{s}'"))?;
                    if !(0.0..1.0).contains(&sp) {
                        bail!("`--sparsity` must be in [0, 1), got {s}");
                    }
                    let k = ((1.0 - sp) * p as f64).round() as usize;
                    if k < 1 {
                        bail!(
                            "`--sparsity` {s} keeps no parameter of p = {p}; use a sparsity ≤ {}",
                            1.0 - 1.0 / p as f64
                        );
                    }
                    Ok(k)
                })
                .collect::<anyhow::Result<_>>()?,
            (None, None) => (1..p).collect(),
        };
        ks.sort_unstable_by(|a, b| b.cmp(a));
        ks.dedup();
        Ok(ks)
    }
}

fn split_list<'a>(flag: &str, list: &'a str) -> anyhow::Result<Vec<&'a str>> {
    let items: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        bail!("`{flag}` needs at least one value");
    }
    Ok(items)
}

/// Parses `--methods`: a comma-separated list of names, or `all`.
pub fn parse_methods(list: &str) -> anyhow::Result<Vec<Method>> {
    let names = split_list("--methods", list)?;
    if names == ["all"] {
        return Ok(Method::ALL.to_vec());
    }
    let mut methods = Vec::new();
    for name in names {
        let m = Method::from_name(name).with_context(|| {
            format!("`--methods`: unknown method '{name}' (valid: random, synflow, magnitude, imp, snip, grasp, all)")
        })?;
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    methods.sort();
    Ok(methods)
}

/// `--format table|csv|json`; the library's [`Format`] knows no command line, so its clap
/// parser lives here.
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[Format::Table, Format::Csv, Format::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let (name, help) = match self {
            Format::Table => ("table", "Aligned columns for reading"),
            Format::Csv => ("csv", "Comma-separated values with a header line"),
            Format::Json => ("json", "A JSON array of objects"),
        };
        Some(PossibleValue::new(name).help(help))
    }
}
