//! `peff scaling`: exact `I(m; D | init)` over a grid of dataset sizes `n` and input dimensions
//! `d` (each point an exact enumeration, [`crate::experiments::scaling`]), in one table with the
//! data's own entropy `H(D)` beside every row.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use indicatif::ProgressBar;

use super::args::{CheckpointArgs, OutputArgs, PruneArgs, ShardArgs, Task, ThreadsArgs, ToyArgs};
use super::common::{
    parse_shards, progress_bar, thread_pool, Destination, ShardInput, VerifyRequest,
};
use crate::experiments::checkpoint::Checkpointer;
use crate::experiments::run::compute_with;
use crate::experiments::scaling::{IntRange, ScalingConfig, ScalingShard, ScalingSlice, MAX_N};
use crate::experiments::toy::partial::Partial;
use crate::experiments::toy::ToyRun;
use crate::export::{self, write_atomic};
use crate::info::tally::MaskTally;
use crate::record::{ResultFile, RunRecord, Shard, ShardFile, Threads};

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
    export::check_out_dir(&output.out)?;
    let stem = output
        .name
        .clone()
        .unwrap_or_else(|| default_name(args.task, dims, ns));
    let dest = Destination {
        out: &output.out,
        stem,
        format: output.format,
        force: output.force,
    };
    let [csv_path, json_path] = dest.paths();
    let shard_file = shard.map(|s| output.out.join(s.file_name(&dest.stem)));
    let mut outputs: Vec<(&str, &std::path::Path)> = match &shard_file {
        Some(path) => vec![("the shard file", path)],
        None => vec![
            ("the result file", &csv_path),
            ("the result file", &json_path),
        ],
    };
    if let Some(cp) = &checkpoint {
        outputs.push(("`--checkpoint`", cp.path()));
    }
    export::check_output_paths(&outputs)?;
    let record = RunRecord {
        command: "scaling".to_string(),
        config: ScalingConfig {
            n: ns,
            input_dim: dims,
            points,
        },
        shard,
    };
    export::check_destination(
        &output.out,
        &dest.stem,
        shard,
        &serde_json::to_value(&record)?,
        output.force,
    )?;
    let mut done: Vec<Partial> = match &checkpoint {
        Some(cp) => cp
            .load::<_, ScalingSlice>(&record)?
            .map_or_else(Vec::new, |s| {
                let finished = s
                    .points
                    .iter()
                    .filter(|p| p.payload.done == p.payload.end - p.payload.start)
                    .count();
                cp.announce_resume(&format!(
                    "{finished} of {} grid points finished",
                    record.config.points.len()
                ));
                s.points
            }),
        None => Vec::new(),
    };
    super::signals::announce("stopping after the current window of datasets of this grid point…");
    let stop = super::signals::install();
    let pool = thread_pool(threads)?;
    let started = Instant::now();
    let bar = progress_bar(grid_work(&record), "datasets of the grid");
    let tallies = compute_grid(&record, &pool, checkpoint.as_ref(), &mut done, stop, &bar)?;
    let Some(tallies) = tallies else {
        bar.abandon();
        return Err(crate::experiments::checkpoint::interrupted(
            checkpoint.as_ref(),
        ));
    };
    bar.finish_and_clear();
    if let Some(path) = shard_file {
        let file: ScalingShard = ShardFile::new(record, ScalingSlice { points: done });
        write_atomic(&path, serde_json::to_string(&file)?.as_bytes())?;
        println!("{}", path.display());
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    let started = checkpoint
        .as_ref()
        .map_or(started, |cp| cp.run_started(started));
    emit(&dest, &record, &tallies, Threads::Ran(threads), started)
}

/// The datasets `record` (its shard, if any) enumerates over every grid point: the progress
/// bar's length.
fn grid_work(record: &RunRecord<ScalingConfig>) -> u64 {
    let shard = record.shard.unwrap_or(Shard::WHOLE);
    record
        .config
        .points
        .iter()
        .map(|p| {
            let count = p.experiment.space.num_multisets().unwrap_or(0) as u64;
            let range = shard.range(count);
            range.end - range.start
        })
        .sum()
}

/// Computes every grid point of `record` (its shard's datasets of each, or all of them) on
/// `pool`, point by point: the one computation of `peff scaling` and of `peff verify` of its
/// results. `done` holds the points finished (and the current one's progress) so far, resumed
/// from and saved to `checkpoint` when given. Returns every point's tallies in grid order, or
/// `None` once `stop` is set (the progress is then in `done` and the checkpoint).
fn compute_grid(
    record: &RunRecord<ScalingConfig>,
    pool: &rayon::ThreadPool,
    checkpoint: Option<&Checkpointer>,
    done: &mut Vec<Partial>,
    stop: &AtomicBool,
    bar: &ProgressBar,
) -> anyhow::Result<Option<Vec<Vec<MaskTally>>>> {
    let shard = record.shard;
    let mut tallies: Vec<Vec<MaskTally>> = Vec::new();
    for (i, point) in record.config.points.iter().enumerate() {
        let count = point
            .experiment
            .space
            .num_multisets()
            .filter(|&c| c <= u64::MAX as u128)
            .with_context(|| format!("grid point {}: the dataset count overflows", i + 1))?
            as u64;
        let identity = record.config.point_record(i, shard);
        let range = shard.unwrap_or(Shard::WHOLE).range(count);
        let resumed = match done.get(i) {
            Some(p) => Some((p.payload.done, p.tallies()?)),
            None => None,
        };
        let mut saver = |d: u64, t: &[MaskTally]| -> anyhow::Result<()> {
            done.truncate(i);
            done.push(Partial::from_tallies(identity.clone(), range.clone(), d, t));
            if let Some(cp) = checkpoint {
                cp.save(
                    record,
                    ScalingSlice {
                        points: done.clone(),
                    },
                )?;
            }
            Ok(())
        };
        let due = || checkpoint.is_some_and(|cp| cp.due());
        let result = pool.install(|| {
            compute_with(
                &identity,
                range.clone(),
                resumed,
                &mut saver,
                &due,
                stop,
                &|k| bar.inc(k),
            )
        })?;
        let Some(t) = result else {
            return Ok(None);
        };
        tallies.push(t);
    }
    Ok(Some(tallies))
}

/// `peff verify` of a `peff scaling` result (a whole run's, or a merge of its shards): checks
/// the recorded configuration, reruns every grid point through [`compute_grid`] on `threads`
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
    let pool = thread_pool(threads)?;
    super::signals::announce("stopping: the rerun is abandoned and nothing is verified…");
    let stop = super::signals::install();
    let bar = progress_bar(grid_work(record), "datasets of the grid");
    let tallies = compute_grid(record, &pool, None, &mut Vec::new(), stop, &bar)?;
    let Some(tallies) = tallies else {
        bar.abandon();
        bail!("interrupted; nothing verified");
    };
    bar.finish_and_clear();
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
    let parts: &[ScalingShard] = &parse_shards(inputs)?;
    let (whole, tallies) = crate::experiments::scaling::merge(parts)?;
    export::check_out_dir(&output.out)?;
    let stem = match (&output.name, whole.config.points.first()) {
        (Some(name), _) => name.clone(),
        (None, Some(first)) => {
            let task = if first.experiment.task == "classification" {
                Task::Classification
            } else {
                Task::Regression
            };
            default_name(task, whole.config.input_dim, whole.config.n)
        }
        (None, None) => bail!("the merged scaling run has no grid points"),
    };
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
    export::check_overwrite(&json_path, &serde_json::to_value(&whole)?, output.force)?;
    let threads = Threads::Merged {
        shards: parts.len() as u64,
    };
    emit(&dest, &whole, &tallies, threads, started)
}
