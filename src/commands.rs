//! The subcommands: validated configuration in, tables and result files out.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::{Cli, Command, SampleArgs, ToyArgs, ToyRun};
use crate::experiment::{enumerate_datasets, sample_datasets, ToyExperiment};
use crate::export::{self, render, write_atomic, RunRecord};
use crate::info::tally::MaskTally;
use crate::model::init_file::InitFile;
use crate::report::{exact_rows, multi_init_rows, ExactRow};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Exact(args) => exact(&args),
        Command::Sample(args) => sample(&args),
        Command::Bench(args) => {
            let report = crate::bench::run(&args)?;
            print!("{}", crate::bench::render(&report, args.format)?);
            Ok(())
        }
        Command::Bound(args) => {
            let bound = args.evaluate()?;
            println!("{}", serde_json::to_string_pretty(&bound)?);
            Ok(())
        }
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} datasets ({eta} left)",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar
}

fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")
}

/// The experiment for one init seed (or the init file's init, when given).
fn with_init(run: &ToyRun, seed: u64) -> ToyExperiment {
    let mut exp = run.experiment.clone();
    if exp.init_seed.is_some() {
        exp.init = exp.shape.init_params(seed);
        exp.init_seed = Some(seed);
    }
    exp
}

fn dump_init(args: &ToyArgs, exp: &ToyExperiment) -> anyhow::Result<()> {
    if let Some(path) = &args.dump_init {
        let file = InitFile::from_params(&exp.shape.layers(), &exp.init);
        write_atomic(path, file.to_json().as_bytes()).context("`--dump-init`")?;
    }
    Ok(())
}

/// Where and how a run's results go.
struct Destination<'a> {
    out: &'a Path,
    stem: String,
    format: export::Format,
}

impl Destination<'_> {
    /// Writes `<stem>.csv` and `<stem>.json` atomically and prints the rows on stdout.
    fn emit<C: Serialize, R: Serialize>(&self, record: &RunRecord<'_, C, R>) -> anyhow::Result<()> {
        write_atomic(
            &self.out.join(format!("{}.csv", self.stem)),
            export::to_csv(record.rows)?.as_bytes(),
        )?;
        write_atomic(
            &self.out.join(format!("{}.json", self.stem)),
            (serde_json::to_string_pretty(record)? + "\n").as_bytes(),
        )?;
        print!("{}", render(record.rows, self.format)?);
        Ok(())
    }
}

fn record<'a, C: Serialize, R: Serialize>(
    command: &'static str,
    config: &'a C,
    threads: usize,
    started: Instant,
    pmf_sha256: String,
    rows: &'a [R],
) -> RunRecord<'a, C, R> {
    RunRecord {
        peff_version: env!("CARGO_PKG_VERSION"),
        git_commit: export::git_commit(),
        command,
        config,
        threads,
        wall_seconds: started.elapsed().as_secs_f64(),
        pmf_sha256: Some(pmf_sha256),
        rows,
    }
}

/// SHA-256 over every row's mask pmf (rows in order, masks sorted), in hex.
pub fn pmf_sha256(exp: &ToyExperiment, tallies: &[MaskTally]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (key, tally) in exp.rows().iter().zip(tallies) {
        hasher.update(format!(
            "{} {} {} {}\n",
            key.method.name(),
            key.k,
            tally.total_weight,
            tally.diverged_weight
        ));
        for (mask, weight) in tally.sorted() {
            hasher.update(format!("{} {weight}\n", mask.to_bit_string()));
        }
    }
    format!("{:x}", hasher.finalize())
}

/// Configuration recorded in a result file.
#[derive(Serialize)]
struct RecordedConfig<'a> {
    experiment: &'a ToyExperiment,
    init_seeds: &'a [u64],
    samples: Option<u64>,
    sample_seed: Option<u64>,
}

fn exact(args: &ToyArgs) -> anyhow::Result<()> {
    let run = args.validate()?;
    let space = run.experiment.space;
    let count = space
        .num_multisets()
        .filter(|&c| c <= args.max_datasets as u128);
    let Some(count) = count else {
        let total = space
            .num_multisets()
            .map_or("more than 2^128".to_string(), |c| c.to_string());
        bail!(
            "enumeration has {total} datasets (multisets), more than `--max-datasets` {}; use `peff sample`, or raise `--max-datasets`",
            args.max_datasets
        );
    };
    export::check_out_dir(&args.out)?;
    dump_init(args, &run.experiment)?;
    let pool = thread_pool(run.threads)?;
    let started = Instant::now();
    let bar = progress_bar(count as u64 * run.init_seeds.len() as u64);
    let mut per_init = Vec::new();
    let mut hashes = Vec::new();
    for &seed in &run.init_seeds {
        let exp = with_init(&run, seed);
        let tallies = pool.install(|| exp.tally(enumerate_datasets(space), false, &|n| bar.inc(n)));
        hashes.push(pmf_sha256(&exp, &tallies));
        per_init.push((seed, exact_rows(&exp, &tallies)));
    }
    bar.finish_and_clear();
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("exact-{}", run.experiment.task));
    let config = RecordedConfig {
        experiment: &run.experiment,
        init_seeds: &run.init_seeds,
        samples: None,
        sample_seed: None,
    };
    let hash = hashes.join(",");
    let dest = Destination {
        out: &args.out,
        stem,
        format: args.format,
    };
    if per_init.len() == 1 {
        let rows: Vec<ExactRow> = per_init.remove(0).1;
        dest.emit(&record("exact", &config, run.threads, started, hash, &rows))
    } else {
        let rows = multi_init_rows(&per_init);
        dest.emit(&record("exact", &config, run.threads, started, hash, &rows))
    }
}

/// One row of `peff sample`: the exact-table columns plus one estimator's estimate.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SampleRow {
    /// The table columns, with `entropy_bits`/`mi_bits`/`p_eff` from this row's estimator.
    #[serde(flatten)]
    pub row: ExactRow,
    /// Number of sampled datasets N.
    pub samples: u64,
    /// Estimator name.
    pub estimator: String,
    /// Estimate of `H(m | init)`, bits.
    pub estimate_bits: f64,
    /// Lower end of the 95 % bootstrap basic interval, bits.
    pub ci_low_bits: f64,
    /// Upper end of the 95 % bootstrap basic interval, bits.
    pub ci_high_bits: f64,
}

/// Sample rows for one experiment from its tallies.
pub fn sample_rows(exp: &ToyExperiment, tallies: &[MaskTally], samples: u64) -> Vec<SampleRow> {
    exp.rows()
        .into_iter()
        .zip(tallies)
        .flat_map(|(key, tally)| {
            let base = crate::report::ExactRow::new(exp, key, Some(tally));
            let deterministic = exp.is_tallied(key.method, false);
            crate::info::estimate_rows(tally, exp.num_params(), key.k)
                .into_iter()
                .map(move |e| {
                    let mi = if deterministic { e.estimate_bits } else { 0.0 };
                    SampleRow {
                        row: ExactRow {
                            entropy_bits: e.estimate_bits,
                            mi_bits: mi,
                            p_eff: mi + key.k as f64,
                            ..base.clone()
                        },
                        samples,
                        estimator: e.estimator,
                        estimate_bits: e.estimate_bits,
                        ci_low_bits: e.ci_low_bits,
                        ci_high_bits: e.ci_high_bits,
                    }
                })
        })
        .collect()
}

fn sample(args: &SampleArgs) -> anyhow::Result<()> {
    let run = args.toy.validate()?;
    if args.samples < 1 || args.samples > 1_000_000_000 {
        bail!(
            "`--samples` must be in [1, 1000000000], got {}",
            args.samples
        );
    }
    if run.init_seeds.len() > 1 {
        bail!(
            "`--inits` is supported by `peff exact` only; run `peff sample` once per `--init-seed`"
        );
    }
    let samples = args.samples as u64;
    export::check_out_dir(&args.toy.out)?;
    dump_init(&args.toy, &run.experiment)?;
    let pool = thread_pool(run.threads)?;
    let started = Instant::now();
    let bar = progress_bar(samples);
    let exp = with_init(&run, run.init_seeds[0]);
    let datasets = sample_datasets(exp.space, args.seed, 0..samples);
    let tallies = pool.install(|| exp.tally(datasets, true, &|n| bar.inc(n)));
    bar.finish_and_clear();
    let rows = sample_rows(&exp, &tallies, samples);
    let stem = args
        .toy
        .name
        .clone()
        .unwrap_or_else(|| format!("sample-{}", exp.task));
    let config = RecordedConfig {
        experiment: &exp,
        init_seeds: &run.init_seeds,
        samples: Some(samples),
        sample_seed: Some(args.seed),
    };
    let hash = pmf_sha256(&exp, &tallies);
    let dest = Destination {
        out: &args.toy.out,
        stem,
        format: args.toy.format,
    };
    dest.emit(&record(
        "sample",
        &config,
        run.threads,
        started,
        hash,
        &rows,
    ))
}
