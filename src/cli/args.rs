//! Argument groups shared by several subcommands, and their validation into library
//! configurations: [`OutputArgs`] (`--out --name --force --format`), [`ShardArgs`]
//! (`--shard`), [`ThreadsArgs`] (`--threads`, checked once), [`PruneArgs`] (`--methods
//! --imp-rate --synflow-rounds --grasp-temperature`), flattened into each command that takes
//! them; [`ToyArgs`] (the toy experiment's flags of `exact`, `sample`, `converge`) becomes a
//! validated [`ToyExperiment`]; `--format` parses into [`Format`].
//!
//! Raw arguments are parsed once and checked here; library code only ever sees validated
//! values. Every error names the flag, the bad value and the valid range.

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::errors::quote;
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use crate::data::DataSpace;
use crate::experiments::toy::ToyExperiment;
use crate::export::Format;
use crate::model::toy::init_file::InitFile;
use crate::model::toy::lanes::TrainParams;
use crate::model::toy::ToyShape;
use crate::model::Loss;
use crate::prune::{Grasp, Imp, Method, PruneSettings};
use crate::record::Shard;

/// Flags shared by `exact`, `sample`, `converge` and `stochastic` (docs/methods.md §2, §3).
/// Flags a subcommand does not use are hidden from its `--help` (`mut_arg(…, hide)` on its
/// flags) and refused by [`ToyArgs::refuse_unused`].
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
    /// The pruning methods and their settings.
    #[command(flatten)]
    pub prune: PruneArgs,
    /// Comma-separated kept counts k in [1, p − 1] (default: every k from 1 to p − 1).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "sparsity")]
    pub k: Option<String>,
    /// Comma-separated sparsities s, converted to k = round((1 − s)·p), which must be in
    /// [1, p − 1] (for p = 21: s in [0.0239, 0.9761]).
    #[arg(long, allow_hyphen_values = true)]
    pub sparsity: Option<String>,
    /// Seed of the PyTorch-style init.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub init_seed: u64,
    /// Init file (JSON, docs/methods.md §7) instead of a seeded init.
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["inits", "init_seed"])]
    pub init: Option<PathBuf>,
    /// Write the init used to this file (JSON, docs/methods.md §7).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "inits")]
    pub dump_init: Option<PathBuf>,
    /// Repeat for K init seeds (init-seed, init-seed+1, …) and report mean ± standard error
    /// (default 1).
    #[arg(long, allow_hyphen_values = true)]
    pub inits: Option<i64>,
    /// Seed of random pruning's streams.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub random_seed: u64,
    /// Worker threads.
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Where the results go.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Refuse to enumerate more datasets than this, per shard (default 10^8).
    #[arg(long, allow_hyphen_values = true)]
    pub max_datasets: Option<i64>,
    /// The slice of the run to compute.
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Save progress to this file and resume from it when rerun with the same flags.
    #[arg(long, allow_hyphen_values = true)]
    pub checkpoint: Option<PathBuf>,
    /// Seconds between checkpoint saves (default 30).
    #[arg(long, allow_hyphen_values = true)]
    pub checkpoint_interval: Option<f64>,
}

/// `--out --name --force --format`: where a command's result files go and how stdout shows
/// the table (every command that writes a result table).
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Directory for result files.
    #[arg(long, allow_hyphen_values = true, default_value = "results")]
    pub out: PathBuf,
    /// Result file name stem, without path separators (default: the command's name and its main
    /// setting, e.g. `exact-regression`, `memorize-gaussian`, `noise-corr`).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_name)]
    pub name: Option<String>,
    /// Overwrite result (or shard) files that hold a result of another configuration.
    #[arg(long)]
    pub force: bool,
    /// Output format on stdout.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `--shard i/N`: compute one slice of a run (of its datasets, or of its seeds).
#[derive(Debug, Args, Clone)]
pub struct ShardArgs {
    /// Compute only shard i of N (e.g. 0/7) of the run's datasets or seeds and write a shard
    /// file for `peff merge`.
    #[arg(long, allow_hyphen_values = true)]
    pub shard: Option<String>,
}

impl ShardArgs {
    /// The validated shard (`None`: the whole run).
    pub fn validate(&self) -> anyhow::Result<Option<Shard>> {
        self.shard.as_deref().map(Shard::parse).transpose()
    }
}

/// `--checkpoint FILE --checkpoint-interval SECS` of the commands made of independent units
/// of work (`noise-corr`, `scaling`): [`crate::experiments::pipeline::checkpoint`].
#[derive(Debug, Args, Clone)]
pub struct CheckpointArgs {
    /// Save finished work to this file (every `--checkpoint-interval` seconds and on Ctrl-C,
    /// SIGTERM, SIGHUP) and resume from it when the same command is run again.
    #[arg(long, allow_hyphen_values = true)]
    pub checkpoint: Option<PathBuf>,
    /// Seconds between checkpoint saves (default 30; 0: after every unit of work).
    #[arg(long, allow_hyphen_values = true)]
    pub checkpoint_interval: Option<f64>,
}

impl CheckpointArgs {
    /// The checkpointer, if `--checkpoint` was given; the interval validated.
    pub fn validate(
        &self,
    ) -> anyhow::Result<Option<crate::experiments::pipeline::checkpoint::Checkpointer>> {
        let interval = self
            .checkpoint_interval
            .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
        if !(interval.is_finite() && (0.0..=1e9).contains(&interval)) {
            bail!("`--checkpoint-interval` must be a finite number ≥ 0 (seconds, at most 1e9), got {interval}");
        }
        match &self.checkpoint {
            None if self.checkpoint_interval.is_some() => {
                bail!("`--checkpoint-interval` needs `--checkpoint FILE`")
            }
            None => Ok(None),
            Some(path) => Ok(Some(
                crate::experiments::pipeline::checkpoint::Checkpointer::new(path, interval),
            )),
        }
    }
}

/// Largest `--threads`.
pub const MAX_THREADS: i64 = 1024;

/// `--threads`: the worker threads of a command; no table depends on it.
#[derive(Debug, Args, Clone)]
pub struct ThreadsArgs {
    /// Worker threads, 0 to 1024 (0: all cores); the results do not depend on it.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub threads: i64,
}

impl ThreadsArgs {
    /// The one thread-count check: `0..=MAX_THREADS`, 0 resolved to the available cores.
    pub fn validate(&self) -> anyhow::Result<usize> {
        if !(0..=MAX_THREADS).contains(&self.threads) {
            bail!(
                "`--threads` must be in [0, {MAX_THREADS}] (0: all cores), got {}",
                self.threads
            );
        }
        Ok(match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        })
    }
}

/// `--sparse-below`: the kept fraction below which a pruned layer trains on its sparse kernel.
#[derive(Debug, Args, Clone)]
pub struct SparseArgs {
    /// Kept fraction of a layer's weights, in [0, 1], below which it trains and evaluates on
    /// kernels that skip its pruned weights (0: always dense); only the summation order changes
    /// [default: measured per kind of layer, 0.2 for linear layers, 0.4 for convolutions].
    #[arg(long, allow_hyphen_values = true)]
    pub sparse_below: Option<f64>,
}

impl SparseArgs {
    /// The one check: a number in `[0, 1]` for every kind of layer, default
    /// [`SparseBelow::MEASURED`](crate::model::sparse::SparseBelow::MEASURED).
    pub fn validate(&self) -> anyhow::Result<crate::model::sparse::SparseBelow> {
        use crate::model::sparse::SparseBelow;
        match self.sparse_below {
            None => Ok(SparseBelow::MEASURED),
            Some(v) if (0.0..=1.0).contains(&v) => Ok(SparseBelow::uniform(v)),
            Some(v) => bail!("`--sparse-below` must be a number in [0, 1], got {v}"),
        }
    }
}

/// `--methods --imp-rate --synflow-rounds --grasp-temperature`: which pruning methods run, and
/// the settings of those that have any.
#[derive(Debug, Args, Clone)]
pub struct PruneArgs {
    /// Comma-separated methods, or `all` (the names of [`Method::ALL`]).
    #[arg(long, allow_hyphen_values = true, default_value = "all",
          help = format!("Comma-separated methods, or `all`: {}", Method::names()))]
    pub methods: String,
    /// IMP pruning rate per level (the fraction of the kept weights each level removes).
    #[arg(long, allow_hyphen_values = true, default_value_t = Imp::DEFAULT_RATE)]
    pub imp_rate: f64,
    /// SynFlow rounds.
    #[arg(long, allow_hyphen_values = true, default_value_t = 100)]
    pub synflow_rounds: i64,
    /// GraSP output temperature (default: 200 for cross-entropy, 1 for MSE).
    #[arg(long, allow_hyphen_values = true)]
    pub grasp_temperature: Option<f64>,
}

/// Validated [`PruneArgs`].
#[derive(Clone, Debug, PartialEq)]
pub struct ValidPrune {
    /// The methods, in table order.
    pub methods: Vec<Method>,
    /// IMP's per-level rate, in (0, 1).
    pub imp_rate: f64,
    /// SynFlow rounds, in [1, 100000].
    pub synflow_rounds: usize,
    /// GraSP's output temperature, finite and > 0.
    pub grasp_temperature: f64,
}

impl PruneArgs {
    /// Validates the group; `cross_entropy` picks the GraSP temperature's default.
    pub fn validate(&self, cross_entropy: bool) -> anyhow::Result<ValidPrune> {
        if !(self.imp_rate > 0.0 && self.imp_rate < 1.0) {
            bail!("`--imp-rate` must be in (0, 1), got {}", self.imp_rate);
        }
        let loss = if cross_entropy {
            Loss::CrossEntropy
        } else {
            Loss::Mse
        };
        let grasp_temperature = self
            .grasp_temperature
            .unwrap_or(Grasp::default_temperature(loss));
        if !(grasp_temperature.is_finite() && grasp_temperature > 0.0) {
            bail!("`--grasp-temperature` must be a finite number > 0, got {grasp_temperature}");
        }
        Ok(ValidPrune {
            synflow_rounds: positive("--synflow-rounds", self.synflow_rounds, 100_000)?,
            methods: parse_methods(&self.methods)?,
            imp_rate: self.imp_rate,
            grasp_temperature,
        })
    }
}

/// Default of `--max-datasets`.
pub const DEFAULT_MAX_DATASETS: u64 = 100_000_000;
/// Default of `--checkpoint-interval`, seconds.
pub const DEFAULT_CHECKPOINT_INTERVAL: f64 = 30.0;

/// Task presets (docs/methods.md §2).
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
    /// `--max-datasets` (validated, default applied).
    pub max_datasets: u64,
    /// `--checkpoint-interval` in seconds (validated, default applied).
    pub checkpoint_interval: f64,
}

impl ToyArgs {
    /// Validates every flag and builds the experiment (loading `--init` if given).
    pub fn validate(&self) -> anyhow::Result<ValidToyArgs> {
        let preset = ToyShape::preset(self.task.name()).expect("every `Task` is a preset");
        let (d0, h0, o, loss) = (
            preset.input_dim as i64,
            preset.hidden as i64,
            preset.outputs,
            preset.loss,
        );
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
        let prune = self.prune.validate(loss == Loss::CrossEntropy)?;
        let checkpoint_interval = self
            .checkpoint_interval
            .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
        if !(checkpoint_interval.is_finite() && (0.0..=1e9).contains(&checkpoint_interval)) {
            bail!("`--checkpoint-interval` must be a finite number ≥ 0 (seconds, at most 1e9), got {checkpoint_interval}");
        }
        if self.checkpoint_interval.is_some() && self.checkpoint.is_none() {
            bail!("`--checkpoint-interval` needs `--checkpoint FILE`");
        }
        let max_datasets = match self.max_datasets {
            None => DEFAULT_MAX_DATASETS,
            Some(m) if m >= 1 => m as u64,
            Some(m) => bail!("`--max-datasets` must be ≥ 1, got {m}"),
        };
        let requested_k = self.kept_counts(p)?;
        let inits = positive("--inits", self.inits.unwrap_or(1), 10_000)?;
        if self.init_seed.checked_add(inits as u64 - 1).is_none() {
            bail!(
                "`--init-seed` {} with `--inits {inits}` runs past the largest seed 2^64 − 1; use a smaller `--init-seed`",
                self.init_seed
            );
        }
        let threads = self.threads.validate()?;
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
            task: self.task.name().to_string(),
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
        Ok(ValidToyArgs {
            experiment,
            init_seeds,
            threads,
            max_datasets,
            checkpoint_interval,
        })
    }

    /// When `--k` or `--sparsity` was given, says on stderr which methods report other kept
    /// counts than those requested (IMP: the counts its schedule visits).
    pub fn note_rows(&self, run: &ValidToyArgs) {
        if self.k.is_some() || self.sparsity.is_some() {
            note_rows_differing_from_request(&run.experiment);
        }
    }

    /// Refuses flags `command` does not use (by their long names, e.g. `"--shard"`), so that
    /// nothing given on the command line is silently ignored.
    pub fn refuse_unused(&self, command: &str, unused: &[&str]) -> anyhow::Result<()> {
        for &flag in unused {
            let given = match flag {
                "--shard" => self.shard.shard.is_some(),
                "--checkpoint" => self.checkpoint.is_some(),
                "--checkpoint-interval" => self.checkpoint_interval.is_some(),
                "--inits" => self.inits.is_some(),
                "--max-datasets" => self.max_datasets.is_some(),
                "--dump-init" => self.dump_init.is_some(),
                other => unreachable!("refuse_unused: unknown flag {other}"),
            };
            if given {
                bail!("`{flag}` is not used by `peff {command}`; remove it");
            }
        }
        Ok(())
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

/// Says on stderr when a method's rows are not the requested kept counts (IMP reports the
/// counts its schedule visits), so that no requested row disappears silently.
fn note_rows_differing_from_request(exp: &ToyExperiment) {
    let rows = exp.rows();
    for &method in &exp.methods {
        let ks: Vec<usize> = rows
            .iter()
            .filter(|r| r.method == method)
            .map(|r| r.k)
            .collect();
        if ks != exp.requested_k {
            let list = |v: &[usize]| {
                v.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            eprintln!(
                "note: {} reports the k its schedule visits down to the smallest requested: {} (requested {})",
                method.name(),
                list(&ks),
                list(&exp.requested_k)
            );
        }
    }
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

/// The one rule for every comma-separated list flag (`--k`, `--sparsity`, `--methods`,
/// `converge --samples`, and the lists of new subcommands): items are trimmed; an empty item
/// (`5,,6`, a trailing comma) and a repeated item are errors naming the flag; the list must
/// have at least one item. Callers parse the items and may impose an order.
pub fn split_list<'a>(flag: &str, list: &'a str) -> anyhow::Result<Vec<&'a str>> {
    let items: Vec<&str> = list.split(',').map(str::trim).collect();
    if items.iter().all(|s| s.is_empty()) {
        bail!("`{flag}` needs at least one value");
    }
    if items.iter().any(|s| s.is_empty()) {
        bail!(
            "`{flag}` has an empty item in {}; separate values with single commas",
            quote(list)
        );
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            bail!("`{flag}` lists {} twice; give each value once", quote(item));
        }
    }
    Ok(items)
}

/// Parses `--methods`: a comma-separated list of names (see [`split_list`]), or `all` alone.
pub fn parse_methods(list: &str) -> anyhow::Result<Vec<Method>> {
    let names = split_list("--methods", list)?;
    if names == ["all"] {
        return Ok(Method::ALL.to_vec());
    }
    if names.contains(&"all") {
        bail!("`--methods`: `all` already means every method; give `all` alone or list methods");
    }
    let mut methods = Vec::new();
    for name in names {
        let m = Method::from_name(name).with_context(|| {
            format!(
                "`--methods`: unknown method {} (valid: {}, or all alone)",
                quote(name),
                Method::names()
            )
        })?;
        methods.push(m);
    }
    methods.sort();
    Ok(methods)
}

/// The clap value parser of every `--name` flag (a result file's stem): refuses an empty
/// name, path separators (`/`, `\`), `.`/`..`, a leading `.` (peff's temporary files),
/// control characters and names over 200 bytes, so result files always land directly in
/// `--out`. New subcommands adopt it with `#[arg(long, value_parser = parse_name)]`.
pub fn parse_name(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("the name is empty".to_string());
    }
    if name.contains(['/', '\\']) {
        return Err(
            "a name cannot contain a path separator; use `--out DIR` for the directory".to_string(),
        );
    }
    if name.starts_with('.') {
        return Err("a name cannot start with '.'".to_string());
    }
    if name.chars().any(char::is_control) || name.len() > 200 {
        return Err("a name must be at most 200 bytes without control characters".to_string());
    }
    Ok(name.to_string())
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
