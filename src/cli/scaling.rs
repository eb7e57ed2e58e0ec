//! `peff scaling`: exact `I(m; D | init)` over a grid of dataset sizes `n` and input dimensions
//! `d` (each point an exact enumeration, [`crate::experiments::scaling`]), in one table with the
//! data's own entropy `H(D)` beside every row.

use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;

use super::args::{OutputArgs, PruneArgs, ShardArgs, Task, ThreadsArgs, ToyArgs};
use super::common::{progress_bar, thread_pool, Destination};
use crate::experiments::run::compute;
use crate::experiments::scaling::{scaling_rows, IntRange, ScalingRow, MAX_N};
use crate::experiments::toy::{ToyRecord, ToyRun};
use crate::export;
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
    /// Refuse grids of more datasets than this, all points together.
    #[arg(long, allow_hyphen_values = true, default_value_t = 100_000_000)]
    pub max_datasets: u64,
}

/// What a scaling run computes: the grid and the run of every point.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
struct ScalingConfig {
    n: IntRange,
    input_dim: IntRange,
    points: Vec<ToyRun>,
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
    if total > args.max_datasets as u128 {
        bail!(
            "the grid has {total} datasets (multisets) in all, more than `--max-datasets` {}; raise it, or run the largest points as `peff exact --shard i/N` with N ≥ {}",
            args.max_datasets,
            total.div_ceil(args.max_datasets.max(1) as u128)
        );
    }
    let output = &args.output;
    export::check_out_dir(&output.out)?;
    let stem = output.name.clone().unwrap_or_else(|| {
        format!(
            "scaling-{}-d{}-n{}",
            args.task.name(),
            range_stem(dims),
            range_stem(ns)
        )
    });
    let dest = Destination {
        out: &output.out,
        stem,
        format: output.format,
        force: output.force,
    };
    let [csv_path, json_path] = dest.paths();
    export::check_output_paths(&[
        ("the result file", &csv_path),
        ("the result file", &json_path),
    ])?;
    let record = RunRecord {
        command: "scaling".to_string(),
        config: ScalingConfig {
            n: ns,
            input_dim: dims,
            points,
        },
        shard: None,
    };
    export::check_overwrite(&json_path, &serde_json::to_value(&record)?, output.force)?;
    let stop = super::signals::install();
    let pool = thread_pool(threads)?;
    let started = Instant::now();
    let bar = progress_bar(total as u64, "grid points");
    let mut rows: Vec<ScalingRow> = Vec::new();
    for point in &record.config.points {
        let identity = ToyRecord {
            command: "exact".to_string(),
            config: point.clone(),
            shard: None,
        };
        let count = point
            .experiment
            .space
            .num_multisets()
            .expect("checked above") as u64;
        let tallies = pool.install(|| compute(&identity, 0..count, None, stop, &|k| bar.inc(k)))?;
        let Some(tallies) = tallies else {
            bar.abandon();
            bail!("interrupted; no results written");
        };
        rows.extend(scaling_rows(&point.experiment, &tallies));
    }
    bar.finish_and_clear();
    let file = ResultFile::new(
        &record,
        Threads::Ran(threads),
        started.elapsed().as_secs_f64(),
        &rows,
    );
    dest.emit(file)?;
    Ok(())
}
