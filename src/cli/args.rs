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

use anyhow::bail;
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use crate::experiments::toy::settings::{
    ToySettings, ValidToy, DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_LR, DEFAULT_N, DEFAULT_STEPS,
};
use crate::experiments::toy::ToyExperiment;
use crate::export::Format;
use crate::prune::{Imp, Method};
use crate::record::Shard;
use crate::settings::{PruneChoice, ValidPrune, DEFAULT_SYNFLOW_ROUNDS};

pub use crate::settings::{parse_methods, split_list};

/// Flags shared by `exact`, `sample`, `converge` and `stochastic` (docs/methods.md §2, §3).
/// Flags a subcommand does not use are hidden from its `--help` (`mut_arg(…, hide)` on its
/// flags) and refused by [`ToyArgs::refuse_unused`].
#[derive(Debug, Args, Clone)]
pub struct ToyArgs {
    /// Preset: regression (d=3, h=4, o=1, MSE, p=21) or classification (d=3, h=3, o=2, cross-entropy, p=20).
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Task::Regression)]
    pub task: Task,
    /// Points per dataset.
    #[arg(long, allow_hyphen_values = true, default_value_t = DEFAULT_N)]
    pub n: i64,
    /// Input dimension d (overrides the preset).
    #[arg(long, allow_hyphen_values = true)]
    pub input_dim: Option<i64>,
    /// Hidden width h (overrides the preset).
    #[arg(long, allow_hyphen_values = true)]
    pub hidden: Option<i64>,
    /// Gradient-descent steps T.
    #[arg(long, allow_hyphen_values = true, default_value_t = DEFAULT_STEPS)]
    pub steps: i64,
    /// Learning rate η.
    #[arg(long, allow_hyphen_values = true, default_value_t = DEFAULT_LR)]
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

pub use crate::settings::MAX_THREADS;

/// `--threads`: the worker threads of a command; no table depends on it.
#[derive(Debug, Args, Clone)]
pub struct ThreadsArgs {
    /// Worker threads, 0 to 1024 (0: all cores); the results do not depend on it.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub threads: i64,
}

impl ThreadsArgs {
    /// The one thread-count check ([`crate::settings::worker_threads`]).
    pub fn validate(&self) -> anyhow::Result<usize> {
        crate::settings::worker_threads(self.threads)
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
    #[arg(long, allow_hyphen_values = true, default_value_t = DEFAULT_SYNFLOW_ROUNDS)]
    pub synflow_rounds: i64,
    /// GraSP output temperature (default: 200 for cross-entropy, 1 for MSE).
    #[arg(long, allow_hyphen_values = true)]
    pub grasp_temperature: Option<f64>,
}

impl PruneArgs {
    /// The group as the library's [`PruneChoice`].
    pub fn choice(&self) -> PruneChoice {
        PruneChoice {
            methods: self.methods.clone(),
            imp_rate: self.imp_rate,
            synflow_rounds: self.synflow_rounds,
            grasp_temperature: self.grasp_temperature,
        }
    }

    /// Validates the group ([`PruneChoice::validate`]); `cross_entropy` picks the GraSP
    /// temperature's default.
    pub fn validate(&self, cross_entropy: bool) -> anyhow::Result<ValidPrune> {
        self.choice().validate(cross_entropy)
    }
}

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

impl ToyArgs {
    /// The flags as the library's [`ToySettings`].
    pub fn settings(&self) -> ToySettings {
        ToySettings {
            task: self.task.name().to_string(),
            n: self.n,
            input_dim: self.input_dim,
            hidden: self.hidden,
            steps: self.steps,
            lr: self.lr,
            prune: self.prune.choice(),
            k: self.k.clone(),
            sparsity: self.sparsity.clone(),
            init_seed: self.init_seed,
            init: self.init.clone(),
            inits: self.inits,
            random_seed: self.random_seed,
            threads: self.threads.threads,
            max_datasets: self.max_datasets,
            checkpoint: self.checkpoint.is_some(),
            checkpoint_interval: self.checkpoint_interval,
        }
    }

    /// Validates every flag and builds the experiment ([`ToySettings::validate`]).
    pub fn validate(&self) -> anyhow::Result<ValidToy> {
        self.settings().validate()
    }

    /// When `--k` or `--sparsity` was given, says on stderr which methods report other kept
    /// counts than those requested (IMP: the counts its schedule visits).
    pub fn note_rows(&self, run: &ValidToy) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Python's `peff.exact()` starts from `ToySettings::default()` and the command line from
    /// its flags' defaults: they must be one configuration, so that the same call gives the
    /// same table either way.
    #[test]
    fn the_flags_defaults_are_the_library_defaults() {
        for command in ["exact", "sample"] {
            let cli = crate::cli::Cli::try_parse_from(["peff", command]).unwrap();
            let toy = match cli.command {
                crate::cli::Command::Exact(args) => args,
                crate::cli::Command::Sample(args) => args.toy,
                _ => unreachable!(),
            };
            assert_eq!(toy.settings(), ToySettings::default(), "{command}");
        }
    }
}
