//! `peff noise-corr`: the student network's correlation with its label noise through IMP
//! (Fig. 1d; Fig. 2 with `--prunes 30`) or over a learning-rate / gradient-noise sweep
//! (Fig. 1e, 1f); the engine is [`crate::experiments::noise_corr`].
//!
//! Every flag is validated here into a [`NoiseCorrConfig`], with a one-line error naming it.
//! `--shard i/N` runs a contiguous range of the seeds and writes a shard file for `peff merge`.

use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use super::args::{CheckpointArgs, OutputArgs, ShardArgs, SparseArgs, ThreadsArgs};
use super::common::{merged, Destination, ShardInput, VerifyRequest};
use crate::data::teacher::TeacherSpec;
use crate::experiments::noise_corr::{
    rows, Divergence, NoiseCorrConfig, NoiseCorrRun, NoiseCorrSeeds, Rewind, Rows, Schedule,
    SeedResult, SweepKind, Timing, BYTES_PER_WEIGHT,
};
use crate::experiments::pipeline::Experiment;
use crate::record::{ResultFile, RunRecord, Shard, Threads};

/// The command name in run records.
pub const COMMAND: &str = "noise-corr";

/// Default of `--lr` (Adam's learning rate).
pub const DEFAULT_LR: f64 = 1e-3;
/// Default learning rates of `--sweep lr` (docs/figures.md: why these).
pub const DEFAULT_LR_GRID: [f64; 4] = [1e-4, 3e-4, 1e-3, 3e-3];
/// Default gradient-noise variances of `--sweep grad-noise` (docs/figures.md: why these).
pub const DEFAULT_GRAD_NOISE_GRID: [f64; 4] = [0.0, 1e-6, 1e-5, 1e-4];
/// Default epochs of a sweep.
pub const DEFAULT_SWEEP_EPOCHS: i64 = 300;

/// Flags of `peff noise-corr`.
#[derive(Debug, Args, Clone)]
pub struct NoiseCorrArgs {
    /// Number of seeds (each: its own teacher, data, noise, μ-sample and student init).
    #[arg(long, allow_hyphen_values = true, default_value_t = 25)]
    pub seeds: i64,
    /// First seed (seeds are seed, seed + 1, …).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub seed: u64,
    /// Input dimension d.
    #[arg(long, allow_hyphen_values = true, default_value_t = 50)]
    pub d: i64,
    /// Comma-separated hidden widths of the teacher.
    #[arg(long, allow_hyphen_values = true, default_value = "50,50")]
    pub teacher_hidden: String,
    /// Comma-separated hidden widths of the student.
    #[arg(long, allow_hyphen_values = true, default_value = "100,100,100,100")]
    pub student_hidden: String,
    /// Training points n.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1000)]
    pub n: i64,
    /// Fresh inputs M for the Monte-Carlo mean E_μ f (drawn once per seed).
    #[arg(long, allow_hyphen_values = true, default_value_t = 10_000)]
    pub mc: i64,
    /// Variance σ² of the label noise.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1.0)]
    pub noise_variance: f64,
    /// Adam's learning rate (default 1e-3; not with `--sweep lr`, whose rates are `--values`).
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// Minibatch size (default: full batch), shuffled every epoch from the seed.
    #[arg(long, allow_hyphen_values = true)]
    pub batch_size: Option<i64>,
    /// IMP prunes (default 21, Fig. 1d; 30 for Fig. 2); each removes 20% of the kept weights.
    #[arg(long, allow_hyphen_values = true)]
    pub prunes: Option<i64>,
    /// Epochs of every IMP level (default 100).
    #[arg(long, allow_hyphen_values = true)]
    pub epochs_per_level: Option<i64>,
    /// What each IMP level starts from: init (rewind to θ0, default) or none (trained weights).
    #[arg(long, allow_hyphen_values = true)]
    pub rewind: Option<String>,
    /// Sweep instead of IMP: lr (Fig. 1e) or grad-noise (Fig. 1f); no pruning.
    #[arg(long, allow_hyphen_values = true)]
    pub sweep: Option<String>,
    /// Comma-separated values of the swept quantity (default grids in docs/figures.md).
    #[arg(long, allow_hyphen_values = true)]
    pub values: Option<String>,
    /// Epochs of each sweep run (default 300).
    #[arg(long, allow_hyphen_values = true)]
    pub epochs: Option<i64>,
    /// Worker threads.
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Where the results go (default name: noise-corr, noise-corr-fig2 with --prunes 30,
    /// noise-corr-prunesN otherwise; noise-corr-lr, noise-corr-grad-noise for sweeps).
    #[command(flatten)]
    pub output: OutputArgs,
    /// The slice of the seeds to compute.
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Checkpointing of finished seed runs.
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    /// Sparse kernels for pruned layers.
    #[command(flatten)]
    pub sparse: SparseArgs,
}

fn count(flag: &str, value: i64, min: i64, max: i64) -> anyhow::Result<usize> {
    if value < min || value > max {
        bail!("`{flag}` must be in [{min}, {max}], got {value}");
    }
    Ok(value as usize)
}

fn widths(flag: &str, text: &str) -> anyhow::Result<Vec<usize>> {
    split_list_any(flag, text)?
        .into_iter()
        .map(|w| match w.parse::<usize>() {
            Ok(w) if (1..=4096).contains(&w) => Ok(w),
            _ => bail!("`{flag}` must be a comma-separated list of widths in [1, 4096], got '{w}'"),
        })
        .collect()
}

/// Widths may repeat (`100,100,100,100`), so only the empty-item rule of
/// [`super::args::split_list`] applies.
fn split_list_any<'a>(flag: &str, text: &'a str) -> anyhow::Result<Vec<&'a str>> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|s| s.is_empty()) {
        bail!("`{flag}` needs comma-separated values without empty items, got '{text}'");
    }
    Ok(items)
}

fn values(kind: SweepKind, text: &str) -> anyhow::Result<Vec<f64>> {
    let (lo, what) = match kind {
        SweepKind::Lr => (
            f64::MIN_POSITIVE,
            "finite numbers > 0 (and not 0 in f32, ≥ 1e-45)",
        ),
        SweepKind::GradNoise => (0.0, "finite numbers ≥ 0"),
    };
    let mut out: Vec<f64> = Vec::new();
    for v in super::args::split_list("--values", text)? {
        let x: f64 = v
            .parse()
            .map_err(|_| anyhow::anyhow!("`--values`: '{v}' is not a number"))?;
        if !(x.is_finite() && x >= lo) || x > 1e6 || (kind == SweepKind::Lr && (x as f32) <= 0.0) {
            bail!(
                "`--values` for --sweep {} must be {what} (≤ 1e6), got {x}",
                kind.name()
            );
        }
        if out.iter().any(|o| o.to_bits() == x.to_bits()) {
            bail!("`--values`: {x} is given twice");
        }
        out.push(x);
    }
    Ok(out)
}

impl NoiseCorrArgs {
    /// Validates every flag into the run's configuration, the thread count and the shard.
    pub fn validate(&self) -> anyhow::Result<(NoiseCorrConfig, usize, Option<Shard>)> {
        let seeds = count("--seeds", self.seeds, 1, 1_000_000)?;
        if self.seed.checked_add(seeds as u64 - 1).is_none() {
            bail!(
                "`--seed` {} + `--seeds` {seeds} overflows the seed range",
                self.seed
            );
        }
        let d = count("--d", self.d, 1, 4096)?;
        let n = count("--n", self.n, 1, 10_000_000)?;
        let mc = count("--mc", self.mc, 1, 10_000_000)?;
        if !(self.noise_variance.is_finite()
            && self.noise_variance > 0.0
            && self.noise_variance <= 1e6)
        {
            bail!(
                "`--noise-variance` must be a finite number in (0, 1e6], got {}",
                self.noise_variance
            );
        }
        let lr = self.lr.unwrap_or(DEFAULT_LR);
        // Adam runs in f32: a rate that is 0 there (1e-300) would train nothing.
        if !(lr.is_finite() && lr > 0.0 && lr <= 1e6 && (lr as f32) > 0.0) {
            bail!("`--lr` must be a finite number in (0, 1e6] that is not 0 in f32 (≥ 1e-45), got {lr}");
        }
        if self.lr.is_some() && self.sweep.as_deref() == Some("lr") {
            bail!("`--lr` is the swept quantity of `--sweep lr`: give the learning rates with `--values`");
        }
        let batch_size = match self.batch_size {
            None => None,
            Some(b) => {
                if b < 1 || b as u64 > n as u64 {
                    bail!("`--batch-size` must be in [1, n = {n}], got {b}");
                }
                Some(b as usize)
            }
        };
        let threads = self.threads.validate()?;
        let shard = self.shard.validate()?;
        let sparse_below = self.sparse.validate()?;
        {
            // Per concurrent seed run: the inputs and μ-sample in f64 and f32, targets and
            // noise, the full-batch activations (forward and backward, f32) of the student,
            // and its weights (`BYTES_PER_WEIGHT`, measured, and a kept mask per IMP level).
            let hidden = widths("--student-hidden", &self.student_hidden)?;
            let units: u128 = hidden.iter().map(|&w| w as u128).sum::<u128>() + 1;
            let layers: Vec<u128> = std::iter::once(d)
                .chain(hidden.iter().copied())
                .chain([1])
                .map(|w| w as u128)
                .collect();
            let weights: u128 = layers.windows(2).map(|w| w[0] * w[1]).sum();
            let prunes = self.prunes.unwrap_or(21).clamp(0, 10_000) as u128;
            let (n, mc, d) = (n as u128, mc as u128, d as u128);
            let per_run = (n + mc) * d * 12
                + n * 24
                + n * units * 4 * 3
                + 512 * units * 4
                + weights * (BYTES_PER_WEIGHT + 2 * prunes);
            let workers = match threads {
                0 => std::thread::available_parallelism().map_or(1, |t| t.get()),
                t => t,
            };
            let runs = (workers as u128).min(seeds as u128);
            super::common::check_memory(
                per_run * runs,
                &format!(
                    "{} per seed run × {runs} threads, {weights} weights",
                    crate::memory::human_bytes(per_run)
                ),
                "`--n`, `--mc`, `--d`, `--student-hidden` or `--threads`",
            )?;
        }
        let data = TeacherSpec {
            d,
            teacher_hidden: widths("--teacher-hidden", &self.teacher_hidden)?,
            n,
            mc,
            noise_variance: self.noise_variance,
        };
        let student_hidden = widths("--student-hidden", &self.student_hidden)?;
        let schedule = match &self.sweep {
            None => {
                if self.values.is_some() {
                    bail!("`--values` needs `--sweep lr` or `--sweep grad-noise`");
                }
                if self.epochs.is_some() {
                    bail!("`--epochs` sets the length of a sweep; IMP levels use `--epochs-per-level`");
                }
                let rewind = match self.rewind.as_deref() {
                    None | Some("init") => Rewind::Init,
                    Some("none") => Rewind::None,
                    Some(other) => bail!("`--rewind` must be init or none, got '{other}'"),
                };
                let epochs_per_level = count(
                    "--epochs-per-level",
                    self.epochs_per_level.unwrap_or(100),
                    1,
                    1_000_000,
                )?;
                let prunes = self.prunes.unwrap_or(21);
                let mut probe = NoiseCorrConfig {
                    data: data.clone(),
                    student_hidden: student_hidden.clone(),
                    lr,
                    batch_size,
                    seed: self.seed,
                    seeds,
                    sparse_below,
                    schedule: Schedule::Imp {
                        prunes: 0,
                        epochs_per_level,
                        rewind,
                    },
                };
                let max = NoiseCorrConfig::max_prunes(probe.weights()?);
                if prunes < 0 || prunes as u64 > max as u64 {
                    bail!("`--prunes` must be in [0, {max}] (more prunes would leave no weight of the {} in this student), got {prunes}", probe.weights()?);
                }
                probe.schedule = Schedule::Imp {
                    prunes: prunes as usize,
                    epochs_per_level,
                    rewind,
                };
                if (epochs_per_level as u64) * (prunes as u64 + 1) > 100_000_000 {
                    bail!("`--epochs-per-level` × (`--prunes` + 1) must be at most 1e8");
                }
                return Ok((probe, threads, shard));
            }
            Some(kind) => {
                let kind = match kind.as_str() {
                    "lr" => SweepKind::Lr,
                    "grad-noise" => SweepKind::GradNoise,
                    other => bail!("`--sweep` must be lr or grad-noise, got '{other}'"),
                };
                for (flag, set) in [
                    ("--prunes", self.prunes.is_some()),
                    ("--epochs-per-level", self.epochs_per_level.is_some()),
                    ("--rewind", self.rewind.is_some()),
                ] {
                    if set {
                        bail!("`{flag}` is an IMP setting; a `--sweep` does not prune");
                    }
                }
                let values = match &self.values {
                    Some(text) => values(kind, text)?,
                    None => match kind {
                        SweepKind::Lr => DEFAULT_LR_GRID.to_vec(),
                        SweepKind::GradNoise => DEFAULT_GRAD_NOISE_GRID.to_vec(),
                    },
                };
                let epochs = count(
                    "--epochs",
                    self.epochs.unwrap_or(DEFAULT_SWEEP_EPOCHS),
                    1,
                    100_000_000,
                )?;
                Schedule::Sweep {
                    kind,
                    values,
                    epochs,
                }
            }
        };
        let config = NoiseCorrConfig {
            data,
            student_hidden,
            lr,
            batch_size,
            seed: self.seed,
            seeds,
            schedule,
            sparse_below,
        };
        config.student()?;
        Ok((config, threads, shard))
    }
}

/// The default result name of a configuration.
pub fn default_name(config: &NoiseCorrConfig) -> String {
    match &config.schedule {
        Schedule::Imp { prunes: 21, .. } => COMMAND.to_string(),
        Schedule::Imp { prunes: 30, .. } => format!("{COMMAND}-fig2"),
        Schedule::Imp { prunes, .. } => format!("{COMMAND}-prunes{prunes}"),
        Schedule::Sweep { kind, .. } => format!("{COMMAND}-{}", kind.name()),
    }
}

/// The JSON summary: diverged seeds per curve.
#[derive(Serialize)]
struct Summary<'a> {
    diverged: &'a [Divergence],
}

/// Writes `<stem>.csv` and `<stem>.json` (as one unit) and prints the rows.
fn emit(
    dest: &Destination<'_>,
    record: &RunRecord<NoiseCorrConfig>,
    results: &[SeedResult],
    threads: Threads,
    started: Instant,
) -> anyhow::Result<()> {
    let (rows, divergences) = rows(&record.config, results)?;
    let summary = serde_json::to_value(Summary {
        diverged: &divergences,
    })?;
    let wall = started.elapsed().as_secs_f64();
    for d in divergences.iter().filter(|d| d.diverged_seeds > 0) {
        let which = d.value.map_or(String::new(), |v| format!(" at value {v}"));
        eprintln!(
            "warning: {} of {} seeds diverged{which} (NaN/∞ loss); their later epochs are left out of the means",
            d.diverged_seeds, record.config.seeds
        );
    }
    match &rows {
        Rows::Imp(r) => {
            let mut file = ResultFile::new(record, threads, wall, r);
            file.summary = Some(summary);
            dest.emit(file)
        }
        Rows::Sweep(r) => {
            let mut file = ResultFile::new(record, threads, wall, r);
            file.summary = Some(summary);
            dest.emit(file)
        }
    }
}

fn print_timing(t: &Timing, jobs: usize) {
    let s = |d: std::time::Duration| d.as_secs_f64();
    let total = s(t.data) + s(t.train) + s(t.eval_train) + s(t.eval_mc) + s(t.prune);
    eprintln!(
        "time in runs ({jobs} runs, summed wall clock of each run): {total:.1} s = optimizer steps {:.1} s + f on training set {:.1} s + f on μ-sample {:.1} s + pruning {:.1} s + data {:.1} s",
        s(t.train),
        s(t.eval_train),
        s(t.eval_mc),
        s(t.prune),
        s(t.data)
    );
}

/// `peff noise-corr`.
pub fn run(args: &NoiseCorrArgs) -> anyhow::Result<()> {
    let (config, threads, shard) = args.validate()?;
    let output = &args.output;
    let dest = Destination::of(output, || Ok(default_name(&config)))?;
    let record = RunRecord {
        command: COMMAND.to_string(),
        config,
        shard,
    };
    let checkpoint = args.checkpoint.validate()?;
    let checkpoint_path = checkpoint.as_ref().map(|cp| ("`--checkpoint`", cp.path()));
    let shard_path = dest.check_before_work(shard, &record, checkpoint_path.as_slice())?;
    let experiment = NoiseCorrRun { record: &record };
    let finished = super::drive::execute(
        &experiment,
        threads,
        checkpoint.as_ref(),
        "stopping after the current epoch of every running seed run…",
    )?;
    let (results, timing) = finished.output;
    print_timing(&timing, experiment.work().0 as usize);
    if let Some(path) = shard_path {
        return super::drive::write_shard(&path, &record, NoiseCorrSeeds { results });
    }
    emit(
        &dest,
        &record,
        &results,
        Threads::Ran(threads),
        finished.started,
    )
}

/// The flags that give `config` (with `threads` worker threads): validating them is the
/// check of a configuration read back from a file, so that `peff verify` accepts exactly the
/// configurations `peff noise-corr` runs.
fn args_of(config: &NoiseCorrConfig, threads: usize) -> NoiseCorrArgs {
    let list = |widths: &[usize]| {
        widths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut args = NoiseCorrArgs {
        seeds: i64::try_from(config.seeds).unwrap_or(i64::MAX),
        seed: config.seed,
        d: i64::try_from(config.data.d).unwrap_or(i64::MAX),
        teacher_hidden: list(&config.data.teacher_hidden),
        student_hidden: list(&config.student_hidden),
        n: i64::try_from(config.data.n).unwrap_or(i64::MAX),
        mc: i64::try_from(config.data.mc).unwrap_or(i64::MAX),
        noise_variance: config.data.noise_variance,
        lr: Some(config.lr),
        batch_size: config
            .batch_size
            .map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
        prunes: None,
        epochs_per_level: None,
        rewind: None,
        sweep: None,
        values: None,
        epochs: None,
        threads: ThreadsArgs {
            threads: threads as i64,
        },
        output: OutputArgs {
            out: std::path::PathBuf::new(),
            name: None,
            force: false,
            format: crate::export::Format::Table,
        },
        shard: ShardArgs { shard: None },
        checkpoint: CheckpointArgs {
            checkpoint: None,
            checkpoint_interval: None,
        },
        sparse: SparseArgs {
            // The student is an MLP: only the linear threshold acts.
            sparse_below: (config.sparse_below != crate::model::sparse::SparseBelow::MEASURED)
                .then_some(config.sparse_below.linear),
        },
    };
    let count = |v: usize| Some(i64::try_from(v).unwrap_or(i64::MAX));
    match &config.schedule {
        Schedule::Imp {
            prunes,
            epochs_per_level,
            rewind,
        } => {
            args.prunes = count(*prunes);
            args.epochs_per_level = count(*epochs_per_level);
            args.rewind = Some(
                match rewind {
                    Rewind::Init => "init",
                    Rewind::None => "none",
                }
                .to_string(),
            );
        }
        Schedule::Sweep {
            kind,
            values,
            epochs,
        } => {
            if *kind == SweepKind::Lr && config.lr.to_bits() == DEFAULT_LR.to_bits() {
                // `--sweep lr` takes no `--lr`; its record holds the default.
                args.lr = None;
            }
            args.sweep = Some(kind.name().to_string());
            // `{}` prints the shortest decimal that parses back to the same f64.
            args.values = Some(
                values
                    .iter()
                    .map(f64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
            args.epochs = count(*epochs);
        }
    }
    args
}

/// `peff verify` of a `peff noise-corr` result (a whole run's, or a merge of its shards):
/// validates the recorded configuration as the command's flags ([`NoiseCorrArgs::validate`]),
/// reruns every seed through [`run_jobs`] and [`rows`] as the command does, on `threads`
/// threads (the table does not depend on them), and compares the rows with the recorded ones,
/// and the CSV beside the file, when there is one, with the rerun's.
pub(crate) fn verify(request: &VerifyRequest<'_>) -> anyhow::Result<()> {
    let threads = request.threads.validate()?;
    let (path, text) = (request.file, request.text);
    #[derive(serde::Deserialize)]
    struct Recorded {
        run: RunRecord<NoiseCorrConfig>,
        rows: serde_json::Value,
    }
    let shown = path.display();
    let recorded: Recorded = serde_json::from_str(text)
        .with_context(|| format!("'{shown}' is not a peff noise-corr result"))?;
    let recorded_config = &recorded.run.config;
    if let Some(s) = recorded.run.shard {
        bail!(
            "'{shown}' records shard {}/{} of a noise-corr run, not a whole run: merge the shards with `peff merge` and verify the merged result",
            s.index,
            s.count
        );
    }
    let (config, threads, _) = args_of(recorded_config, threads)
        .validate()
        .with_context(|| format!("'{shown}': recorded configuration"))?;
    if config != *recorded_config {
        let value = |c: &NoiseCorrConfig| serde_json::to_value(c).unwrap_or_default();
        let (field, got, want) =
            crate::record::first_difference(&value(recorded_config), &value(&config), "config")
                .unwrap_or_else(|| ("config".to_string(), "?".to_string(), "?".to_string()));
        bail!(
            "'{shown}': recorded configuration: `{field}` is {got}, which `peff noise-corr` never records (it would be {want})"
        );
    }
    let what = |e: serde_json::Error| {
        anyhow::anyhow!("'{shown}' is not a peff noise-corr result: `rows`: {e}")
    };
    let recorded_rows = match config.schedule {
        Schedule::Imp { .. } => Rows::Imp(serde_json::from_value(recorded.rows).map_err(what)?),
        Schedule::Sweep { .. } => Rows::Sweep(serde_json::from_value(recorded.rows).map_err(what)?),
    };
    let whole = RunRecord {
        command: COMMAND.to_string(),
        config: config.clone(),
        shard: None,
    };
    let (results, _) = super::drive::rerun(&NoiseCorrRun { record: &whole }, threads)?;
    let (rows, divergences) = rows(&config, &results)?;
    let table = match (&recorded_rows, &rows) {
        (Rows::Imp(_), Rows::Imp(rerun)) => super::compare::check_table(path, text, rerun)?,
        (Rows::Sweep(_), Rows::Sweep(rerun)) => super::compare::check_table(path, text, rerun)?,
        _ => bail!("'{shown}': the rerun gives rows of another schedule"),
    };
    let summary = serde_json::to_value(Summary {
        diverged: &divergences,
    })?;
    super::compare::check_envelope(path, text, Some(&summary))?;
    println!("verified: '{shown}' reproduces {table}");
    Ok(())
}

/// `peff merge` of noise-corr shard files (read and checked): the table and JSON of the
/// unsharded run.
pub(crate) fn merge(
    inputs: &[ShardInput<'_>],
    output: &OutputArgs,
    started: Instant,
) -> anyhow::Result<()> {
    let (dest, whole, results, threads) = merged(
        inputs,
        output,
        crate::experiments::noise_corr::merge,
        |whole| Ok(default_name(&whole.config)),
    )?;
    emit(&dest, &whole, &results, threads, started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `peff verify` checks a recorded configuration by validating the flags that give it
    /// ([`args_of`]): for every kind of run, those flags give back the same configuration.
    #[test]
    fn flags_of_a_configuration_give_it_back() {
        for flags in [
            &[][..],
            &["--prunes", "30", "--rewind", "none", "--lr", "0.003"],
            &["--batch-size", "10", "--seeds", "3", "--seed", "5"],
            &[
                "--sweep",
                "lr",
                "--values",
                "1e-4,3e-3,0.1",
                "--epochs",
                "7",
            ],
            &[
                "--sweep",
                "grad-noise",
                "--lr",
                "1e-3",
                "--values",
                "0,1e-6",
            ],
            &["--sweep", "grad-noise", "--lr", "2.5e-3"],
            &[
                "--teacher-hidden",
                "7",
                "--student-hidden",
                "9,9,3",
                "--d",
                "4",
                "--prunes",
                "3",
            ],
        ] {
            let cli =
                crate::cli::Cli::try_parse_from([&["peff", "noise-corr"][..], flags].concat())
                    .unwrap();
            let crate::cli::Command::NoiseCorr(args) = cli.command else {
                unreachable!()
            };
            let (config, threads, _) = args.validate().unwrap();
            let (again, _, _) = args_of(&config, threads).validate().unwrap();
            assert_eq!(again, config, "{flags:?}");
        }
    }
}
