//! The subcommands: validated configuration in, tables and result files out.
//!
//! `exact` and `sample` share one driver: choose the dataset slice (`--shard i/N`), resume from
//! a checkpoint if one matches, tally in windows (saving the checkpoint and honouring Ctrl-C
//! between windows), then write either a partial-result file (shards) or the result table.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::cli::{Cli, Command, EntropyArgs, MergeArgs, ToyArgs, VerifyArgs};
use crate::experiment::{enumerate_range, sample_datasets, Dataset, ToyExperiment};
use crate::export::{self, render, write_atomic, Format, RunRecord};
use crate::info::tally::MaskTally;
use crate::model::init_file::InitFile;
use crate::partial::{merge, Partial, RunIdentity, Shard};
use crate::report::{exact_rows, multi_init_rows, sample_rows, ExactRow};

/// Set by Ctrl-C (SIGINT); runs stop at the next window boundary.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Exact(args) => toy(&args, None),
        Command::Sample(args) => {
            if args.samples < 1 || args.samples > 1_000_000_000 {
                bail!(
                    "`--samples` must be in [1, 1000000000], got {}",
                    args.samples
                );
            }
            toy(&args.toy, Some((args.samples as u64, args.seed)))
        }
        Command::Merge(args) => merge_command(&args),
        Command::Entropy(args) => entropy(&args),
        Command::Converge(args) => crate::convergence::converge(&args),
        Command::Plot(args) => {
            let path = crate::figures::plot(&args)?;
            println!("{}", path.display());
            Ok(())
        }
        Command::Verify(args) => verify(&args),
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

/// Configuration recorded in a result file; enough to rerun it (`peff verify`).
#[derive(Serialize, Deserialize)]
struct RecordedConfig {
    experiment: ToyExperiment,
    init_seeds: Vec<u64>,
    samples: Option<u64>,
    sample_seed: Option<u64>,
}

/// The part of a JSON result file `peff verify` reads.
#[derive(Deserialize)]
struct RecordedRun {
    command: String,
    config: RecordedConfig,
    pmf_sha256: Option<String>,
}

/// Where and how a run's results go.
struct Destination<'a> {
    out: &'a Path,
    stem: String,
    format: Format,
}

impl Destination<'_> {
    /// Writes `<stem>.csv` and `<stem>.json` atomically and prints the rows on stdout.
    fn emit<R: Serialize>(&self, record: &RunRecord<'_, RecordedConfig, R>) -> anyhow::Result<()> {
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

/// The datasets of a run with indices in `range`.
fn datasets(
    identity: &RunIdentity,
    range: std::ops::Range<u64>,
) -> Box<dyn Iterator<Item = Dataset>> {
    let space = identity.experiment.space;
    match identity.sample_seed {
        Some(seed) => Box::new(sample_datasets(space, seed, range)),
        None => Box::new(enumerate_range(space, range)),
    }
}

/// Number of datasets of a run (multisets, or samples).
fn dataset_count(identity: &RunIdentity) -> Option<u128> {
    match identity.samples {
        Some(n) => Some(n as u128),
        None => identity.experiment.space.num_multisets(),
    }
}

/// Checkpointing of one run.
struct Checkpoint {
    path: PathBuf,
    interval_secs: f64,
}

/// Tallies the datasets `range` of a run, resuming from and saving to `checkpoint`. Returns
/// `None` when interrupted (the checkpoint, if any, is saved).
fn compute(
    identity: &RunIdentity,
    shard: Shard,
    range: std::ops::Range<u64>,
    checkpoint: Option<&Checkpoint>,
    bar: &ProgressBar,
) -> anyhow::Result<Option<Vec<MaskTally>>> {
    let exp = &identity.experiment;
    let mut totals = vec![MaskTally::default(); exp.rows().len()];
    let mut done = 0u64;
    if let Some(cp) = checkpoint.filter(|cp| cp.path.exists()) {
        let saved = Partial::read(&cp.path).context("`--checkpoint`")?;
        if saved.identity != *identity
            || saved.shard != shard
            || saved.start != range.start
            || saved.end != range.end
        {
            bail!(
                "`--checkpoint` '{}' belongs to a different configuration; delete it or choose another file",
                cp.path.display()
            );
        }
        totals = saved.tallies()?;
        done = saved.done;
        bar.inc(done);
    }
    let save = |done: u64, totals: &[MaskTally]| -> anyhow::Result<()> {
        if let Some(cp) = checkpoint {
            let partial = Partial::new(identity.clone(), shard, range.clone(), done, totals);
            write_atomic(&cp.path, serde_json::to_string(&partial)?.as_bytes())
                .context("saving the checkpoint")?;
        }
        Ok(())
    };
    let mut last_save = Instant::now();
    let mut save_error = None;
    let (totals, finished) = exp.tally_from(
        datasets(identity, range.start + done..range.end),
        identity.samples.is_some(),
        totals,
        &|n| bar.inc(n),
        &mut |consumed, totals| {
            let stop = INTERRUPTED.load(Ordering::SeqCst);
            let due =
                checkpoint.is_some_and(|cp| last_save.elapsed().as_secs_f64() >= cp.interval_secs);
            if stop || due {
                if let Err(e) = save(done + consumed, totals) {
                    save_error = Some(e);
                    return false;
                }
                last_save = Instant::now();
            }
            !stop
        },
    );
    if let Some(e) = save_error {
        return Err(e);
    }
    if !finished {
        return Ok(None);
    }
    save(range.end - range.start, &totals)?;
    Ok(Some(totals))
}

/// `peff exact` and `peff sample`.
fn toy(args: &ToyArgs, sampling: Option<(u64, u64)>) -> anyhow::Result<()> {
    let run = args.validate()?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let command = if sampling.is_some() {
        "sample"
    } else {
        "exact"
    };
    if run.init_seeds.len() > 1
        && (shard.is_some() || args.checkpoint.is_some() || sampling.is_some())
    {
        bail!("`--inits` runs whole exact enumerations only; run `--shard`, `--checkpoint` and `peff sample` once per `--init-seed`");
    }
    let identity_for = |seed: u64| RunIdentity {
        command: command.to_string(),
        experiment: run.experiment.with_init_seed(seed),
        samples: sampling.map(|s| s.0),
        sample_seed: sampling.map(|s| s.1),
    };
    let first = identity_for(run.init_seeds[0]);
    let total = dataset_count(&first);
    let slice = |total: u64| shard.unwrap_or(Shard::WHOLE).range(total);
    match total {
        Some(t)
            if sampling.is_some()
                || slice(t as u64).count() as u128 <= args.max_datasets as u128 => {}
        _ => {
            let count = total.map_or("more than 2^128".to_string(), |c| c.to_string());
            let shards = total.map_or("many".to_string(), |c| {
                c.div_ceil(args.max_datasets.max(1) as u128).to_string()
            });
            bail!(
                "enumeration has {count} datasets (multisets), more than `--max-datasets` {}; use `peff sample`, or split it with `--shard i/N` (N ≥ {shards}), or raise `--max-datasets`",
                args.max_datasets
            );
        }
    }
    let total = total.expect("checked above") as u64;
    export::check_out_dir(&args.out)?;
    if let Some(path) = &args.dump_init {
        let exp = &first.experiment;
        let file = InitFile::from_params(&exp.shape.layers(), &exp.init);
        write_atomic(path, file.to_json().as_bytes()).context("`--dump-init`")?;
    }
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    let checkpoint = args.checkpoint.as_ref().map(|path| Checkpoint {
        path: path.clone(),
        interval_secs: args.checkpoint_interval,
    });
    let pool = thread_pool(run.threads)?;
    let started = Instant::now();
    let range = slice(total);
    let bar = progress_bar((range.end - range.start) * run.init_seeds.len() as u64);
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{command}-{}", first.experiment.task));
    let mut per_init = Vec::new();
    for &seed in &run.init_seeds {
        let identity = identity_for(seed);
        let tallies = pool.install(|| {
            compute(
                &identity,
                shard.unwrap_or(Shard::WHOLE),
                range.clone(),
                checkpoint.as_ref(),
                &bar,
            )
        })?;
        let Some(tallies) = tallies else {
            bar.abandon();
            match &checkpoint {
                Some(cp) => bail!(
                    "interrupted; progress saved in checkpoint '{}': rerun the same command to resume",
                    cp.path.display()
                ),
                None => bail!("interrupted; no results written"),
            }
        };
        per_init.push((identity, tallies));
    }
    bar.finish_and_clear();
    if let Some(shard) = shard {
        let (identity, tallies) = &per_init[0];
        let partial = Partial::new(
            identity.clone(),
            shard,
            range.clone(),
            range.end - range.start,
            tallies,
        );
        let path = args.out.join(format!(
            "{stem}.shard-{}-of-{}.json",
            shard.index, shard.count
        ));
        write_atomic(&path, serde_json::to_string(&partial)?.as_bytes())?;
        println!("{}", path.display());
        return Ok(());
    }
    let dest = Destination {
        out: &args.out,
        stem,
        format: args.format,
    };
    finish(&dest, per_init, &run.init_seeds, run.threads, started)
}

/// Rows, result files and stdout for finished tallies (one entry per init).
fn finish(
    dest: &Destination<'_>,
    per_init: Vec<(RunIdentity, Vec<MaskTally>)>,
    init_seeds: &[u64],
    threads: usize,
    started: Instant,
) -> anyhow::Result<()> {
    let hashes: Vec<String> = per_init
        .iter()
        .map(|(id, t)| pmf_sha256(&id.experiment, t))
        .collect();
    let first = &per_init[0].0;
    let config = RecordedConfig {
        experiment: first.experiment.clone(),
        init_seeds: init_seeds.to_vec(),
        samples: first.samples,
        sample_seed: first.sample_seed,
    };
    let command: &'static str = if first.samples.is_some() {
        "sample"
    } else {
        "exact"
    };
    let hash = hashes.join(",");
    if let Some(samples) = first.samples {
        let rows = thread_pool(threads)?
            .install(|| sample_rows(&first.experiment, &per_init[0].1, samples))?;
        return dest.emit(&record(command, &config, threads, started, hash, &rows));
    }
    let mut tables: Vec<(u64, Vec<ExactRow>)> = per_init
        .iter()
        .map(|(id, t)| {
            (
                id.experiment.init_seed.unwrap_or(0),
                exact_rows(&id.experiment, t),
            )
        })
        .collect();
    if tables.len() == 1 {
        let rows = tables.remove(0).1;
        dest.emit(&record(command, &config, threads, started, hash, &rows))
    } else {
        let rows = multi_init_rows(&tables);
        dest.emit(&record(command, &config, threads, started, hash, &rows))
    }
}

fn record<'a, R: Serialize>(
    command: &'static str,
    config: &'a RecordedConfig,
    threads: usize,
    started: Instant,
    pmf_sha256: String,
    rows: &'a [R],
) -> RunRecord<'a, RecordedConfig, R> {
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

/// `peff merge`: shards of one run into the table the unsharded run produces.
fn merge_command(args: &MergeArgs) -> anyhow::Result<()> {
    let parts = args
        .files
        .iter()
        .map(|p| Partial::read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (identity, tallies) = merge(&parts)?;
    export::check_out_dir(&args.out)?;
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", identity.command, identity.experiment.task));
    let dest = Destination {
        out: &args.out,
        stem,
        format: args.format,
    };
    let seeds = vec![identity.experiment.init_seed.unwrap_or(0)];
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    finish(
        &dest,
        vec![(identity, tallies)],
        &seeds,
        threads,
        Instant::now(),
    )
}

/// `peff verify`: reruns a JSON result's configuration and compares the pmf hash.
fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading '{}'", args.file.display()))?;
    let recorded: RecordedRun = serde_json::from_str(&text).with_context(|| {
        format!(
            "'{}' is not a peff exact/sample JSON result",
            args.file.display()
        )
    })?;
    let expected = recorded
        .pmf_sha256
        .with_context(|| format!("'{}' records no pmf hash", args.file.display()))?;
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    let pool = thread_pool(threads)?;
    let config = recorded.config;
    config
        .experiment
        .validate()
        .with_context(|| format!("'{}': recorded configuration", args.file.display()))?;
    if !matches!(recorded.command.as_str(), "exact" | "sample") || config.init_seeds.is_empty() {
        bail!(
            "'{}' is not a peff exact/sample result",
            args.file.display()
        );
    }
    let mut hashes = Vec::new();
    for &seed in &config.init_seeds {
        let identity = RunIdentity {
            command: recorded.command.clone(),
            experiment: config.experiment.with_init_seed(seed),
            samples: config.samples,
            sample_seed: config.sample_seed,
        };
        let total = dataset_count(&identity)
            .filter(|&t| t <= 1_000_000_000)
            .context(
                "recorded configuration has more than 10^9 datasets; verify its shards instead",
            )? as u64;
        let bar = progress_bar(total);
        let tallies = pool
            .install(|| compute(&identity, Shard::WHOLE, 0..total, None, &bar))?
            .context("interrupted")?;
        bar.finish_and_clear();
        hashes.push(pmf_sha256(&identity.experiment, &tallies));
    }
    let actual = hashes.join(",");
    if actual != expected {
        bail!("verification failed: pmf hash {actual} differs from the recorded {expected}");
    }
    println!(
        "verified: {} reproduces pmf hash {expected}",
        args.file.display()
    );
    Ok(())
}

/// One row of `peff entropy` (SPEC §8).
#[derive(Serialize)]
struct EntropyRow {
    #[serde(flatten)]
    estimate: crate::info::EstimateRow,
    samples: u64,
    distinct: usize,
}

/// `peff entropy`: every estimator on a counts file.
fn entropy(args: &EntropyArgs) -> anyhow::Result<()> {
    use crate::info::counts::parse_counts;
    use crate::info::estimators::{estimate_all, BootstrapConfig};
    use std::io::Read;
    let bytes = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading stdin")?;
        buf
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading '{}'", args.file.display()))?
    };
    let name = if args.file.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        args.file.display().to_string()
    };
    let file = parse_counts(&bytes).with_context(|| format!("'{name}'"))?;
    if !(args.confidence > 0.0 && args.confidence < 1.0) {
        bail!("`--confidence` must be in (0, 1), got {}", args.confidence);
    }
    if args.resamples < 2 || args.resamples > 1_000_000 {
        bail!(
            "`--resamples` must be in [1, 1000000], got {}",
            args.resamples
        );
    }
    let observed = file.counts.iter().filter(|&&c| c > 0).count();
    let alphabet = match args.alphabet {
        Some(a) if !(a.is_finite() && a >= observed as f64) => {
            bail!("`--alphabet` must be a finite number ≥ the {observed} observed symbols, got {a}")
        }
        Some(a) => a,
        None => {
            eprintln!("note: alphabet size A defaults to the {observed} observed symbols (set `--alphabet`)");
            observed as f64
        }
    };
    let cfg = BootstrapConfig {
        resamples: args.resamples,
        confidence: args.confidence,
        seed: args.seed,
    };
    let samples: u64 = file.counts.iter().sum();
    let rows: Vec<EntropyRow> = estimate_all(&file.counts, alphabet, &cfg)?
        .into_iter()
        .map(|e| EntropyRow {
            estimate: e.into(),
            samples,
            distinct: observed,
        })
        .collect();
    print!("{}", render(&rows, args.format)?);
    Ok(())
}
