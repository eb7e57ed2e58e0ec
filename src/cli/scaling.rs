//! `peff scaling`: exact `I(m; D | init)` over a grid of dataset sizes `n` and input dimensions
//! `d` (each point an exact enumeration, [`crate::experiments::toy::scaling`]), in one table with the
//! data's own entropy `H(D)` beside every row.

use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;

use super::args::{CheckpointArgs, OutputArgs, PruneArgs, ShardArgs, Task, ThreadsArgs, ToyArgs};
use super::common::{merged, Destination, ShardInput, VerifyRequest};
use crate::experiments::toy::scaling::{IntRange, ScalingConfig, ScalingRun, MAX_N};
use crate::experiments::toy::ToyRun;
use crate::info::tally::MaskTally;
use crate::record::{ResultFile, RunRecord, Threads};

/// Flags of `peff scaling`.
#[derive(Debug, Args, Clone)]
pub struct ScalingArgs {
    /// Preset: regression or classification (as in `peff exact`).
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Task::Regression)]
    pub task: Task,
    /// Points per dataset: an inclusive range a..b or one value.
    #[arg(long, allow_hyphen_values = true, default_value = "1..10")]
    pub n: String,
    /// Input dimension d: an inclusive range a..b or one value (default: the preset's 3).
    #[arg(long, allow_hyphen_values = true, default_value = "3")]
    pub input_dim: String,
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
    /// Comma-separated kept counts k (default: every k from 1 to p − 1).
    #[arg(long, allow_hyphen_values = true)]
    pub k: Option<String>,
    /// Seed of the PyTorch-style init (one init per input dimension).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub init_seed: u64,
    /// Seed of random pruning's streams.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub random_seed: u64,
    /// Worker threads.
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Where the results go (default name: `scaling-<task>-d<d>-n<n>`, ranges as `a-b`).
    #[command(flatten)]
    pub output: OutputArgs,
    /// Refuse grids of more datasets than this, all points together (per shard).
    #[arg(long, allow_hyphen_values = true, default_value_t = 100_000_000)]
    pub max_datasets: u64,
    /// Compute shard i of N of every grid point's datasets and write a shard file for `peff merge`.
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Checkpointing of the grid points.
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
}

impl ScalingArgs {
    /// The `peff exact` flags of one grid point.
    fn point(&self, input_dim: usize, n: usize) -> ToyArgs {
        ToyArgs {
            task: self.task,
            n: n as i64,
            input_dim: Some(input_dim as i64),
            hidden: self.hidden,
            steps: self.steps,
            lr: self.lr,
            prune: self.prune.clone(),
            k: self.k.clone(),
            sparsity: None,
            init_seed: self.init_seed,
            init: None,
            dump_init: None,
            inits: None,
            random_seed: self.random_seed,
            threads: self.threads.clone(),
            output: OutputArgs {
                name: None,
                force: false,
                ..self.output.clone()
            },
            max_datasets: Some(self.max_datasets.min(i64::MAX as u64) as i64),
            shard: ShardArgs { shard: None },
            checkpoint: None,
            checkpoint_interval: None,
        }
    }
}

fn range_stem(r: IntRange) -> String {
    if r.first == r.last {
        r.first.to_string()
    } else {
        format!("{}-{}", r.first, r.last)
    }
}

/// `peff scaling`: validates the whole grid and its size before any work, runs every point,
/// writes `<out>/<name>.csv/.json` and prints the table.
pub fn run(args: &ScalingArgs) -> anyhow::Result<()> {
    let ns = IntRange::parse("--n", &args.n, 1, MAX_N)?;
    let dims = IntRange::parse("--input-dim", &args.input_dim, 1, 16)?;
    let mut points = Vec::new();
    let mut threads = 1;
    let mut total: u128 = 0;
    for d in dims.values() {
        for n in ns.values() {
            let valid = args.point(d, n).validate()?;
            threads = valid.threads;
            let space = valid.experiment.space;
            let count = space
                .num_multisets()
                .filter(|_| space.total_weight().is_some())
                .with_context(|| format!("d = {d}, n = {n}: the dataset count overflows"))?;
            total += count;
            points.push(ToyRun {
                experiment: valid.experiment,
                init_seeds: valid.init_seeds,
                samples: None,
                sample_seed: None,
            });
        }
    }
    let shard = args.shard.validate()?;
    let per_shard = total.div_ceil(shard.map_or(1, |s| s.count) as u128);
    if per_shard > args.max_datasets as u128 {
        bail!(
            "the grid has {total} datasets (multisets) in all, more than `--max-datasets` {}; raise it, or split the grid with `--shard i/N` with N ≥ {}",
            args.max_datasets,
            total.div_ceil(args.max_datasets.max(1) as u128)
        );
    }
    let checkpoint = args.checkpoint.validate()?;
    let output = &args.output;
    let dest = Destination::of(output, || Ok(default_name(args.task, dims, ns)))?;
    let record = RunRecord {
        command: "scaling".to_string(),
        config: ScalingConfig {
            n: ns,
            input_dim: dims,
            points,
        },
        shard,
    };
    let checkpoint_path = checkpoint.as_ref().map(|cp| ("`--checkpoint`", cp.path()));
    let shard_file = dest.check_before_work(shard, &record, checkpoint_path.as_slice())?;
    let finished = super::drive::execute(
        &ScalingRun { record: &record },
        threads,
        checkpoint.as_ref(),
        "stopping after the current window of datasets of this grid point…",
    )?;
    if let Some(path) = shard_file {
        return super::drive::write_shard(&path, &record, finished.progress);
    }
    emit(
        &dest,
        &record,
        &finished.output,
        Threads::Ran(threads),
        finished.started,
    )
}

/// `peff verify` of a `peff scaling` result (a whole run's, or a merge of its shards): checks
/// the recorded configuration, reruns every grid point ([`ScalingRun`]) on `threads`
/// threads (the table does not depend on them) and compares the rows with the recorded ones,
/// and the CSV beside the file, when there is one, with the rerun's.
pub(crate) fn verify(request: &VerifyRequest<'_>) -> anyhow::Result<()> {
    let threads = request.threads.validate()?;
    let (path, text) = (request.file, request.text);
    #[derive(serde::Deserialize)]
    struct Recorded {
        run: RunRecord<ScalingConfig>,
    }
    let shown = path.display();
    let recorded: Recorded = serde_json::from_str(text)
        .with_context(|| format!("'{shown}' is not a peff scaling result"))?;
    let record = &recorded.run;
    if let Some(s) = record.shard {
        bail!(
            "'{shown}' records shard {}/{} of a scaling run, not a whole run: merge the shards with `peff merge` and verify the merged result",
            s.index,
            s.count
        );
    }
    record
        .config
        .validate()
        .with_context(|| format!("'{shown}': recorded configuration"))?;
    let total: u128 = record
        .config
        .points
        .iter()
        .map(|p| p.experiment.space.num_multisets().unwrap_or(u128::MAX))
        .fold(0, u128::saturating_add);
    if total > MAX_VERIFY_DATASETS {
        bail!(
            "'{shown}': the recorded grid has {total} datasets in all, more than the {MAX_VERIFY_DATASETS} `peff verify` reruns"
        );
    }
    let tallies = super::drive::rerun(&ScalingRun { record }, threads)?;
    let rows = record.config.rows(&tallies);
    let table = super::compare::check_table(path, text, &rows)?;
    super::compare::check_envelope(path, text, None)?;
    println!("verified: '{shown}' reproduces {table}");
    Ok(())
}

/// Most datasets (all grid points together) `peff verify` reruns of a scaling result.
const MAX_VERIFY_DATASETS: u128 = 1_000_000_000;

/// The default result name: `scaling-<task>-d<d>-n<n>`, ranges as `a-b`.
pub fn default_name(task: Task, dims: IntRange, ns: IntRange) -> String {
    format!(
        "scaling-{}-d{}-n{}",
        task.name(),
        range_stem(dims),
        range_stem(ns)
    )
}

/// The table of every point's tallies, written and printed.
fn emit(
    dest: &Destination<'_>,
    record: &RunRecord<ScalingConfig>,
    tallies: &[Vec<MaskTally>],
    threads: Threads,
    started: Instant,
) -> anyhow::Result<()> {
    let rows = record.config.rows(tallies);
    let file = ResultFile::new(record, threads, started.elapsed().as_secs_f64(), &rows);
    dest.emit(file)
}

/// `peff merge` of scaling shard files (read and checked): the table and JSON of the
/// unsharded run.
pub(crate) fn merge(
    inputs: &[ShardInput<'_>],
    output: &OutputArgs,
    started: Instant,
) -> anyhow::Result<()> {
    let (dest, whole, tallies, threads) = merged(
        inputs,
        output,
        crate::experiments::toy::scaling::merge,
        |whole| {
            let Some(first) = whole.config.points.first() else {
                bail!("the merged scaling run has no grid points")
            };
            let task = if first.experiment.task == "classification" {
                Task::Classification
            } else {
                Task::Regression
            };
            Ok(default_name(task, whole.config.input_dim, whole.config.n))
        },
    )?;
    emit(&dest, &whole, &tallies, threads, started)
}
