//! `peff verify`: reruns the configuration recorded in a JSON result and checks that the rerun
//! reproduces it. Results of `exact` and `sample` are checked by their mask-pmf hash (see
//! [`crate::experiments::run::pmf_sha256`]) and their table; results of `memorize`,
//! `scaling`, `noise-corr` and `stochastic` by their table: the rows of the JSON and the CSV
//! beside it (`check_table`). Each kind reruns through the computation its command runs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use super::args::ThreadsArgs;
use super::common::{progress_bar, table_of, thread_pool, RecordedResult};
use crate::experiments::run::{compute, dataset_count, pmf_sha256};
use crate::experiments::toy::ToyRecord;
use crate::record::FileTag;

/// Flags of `peff verify`.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// The JSON result of a whole run of `peff exact`, `sample`, `memorize`, `scaling`,
    /// `noise-corr` or `stochastic`, or of `peff merge` of their shards (not a shard file or a
    /// checkpoint).
    pub file: PathBuf,
    /// Worker threads.
    #[command(flatten)]
    pub threads: ThreadsArgs,
}

/// What `peff verify` accepts, for its messages.
const ACCEPTS: &str = "`peff verify` takes the JSON result of a whole run of exact, sample, memorize, scaling, noise-corr or stochastic (or of `peff merge`)";

/// `peff verify`: reruns a JSON result's configuration and compares what it gives with what
/// the file records.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    crate::export::check_result_pair(&args.file.with_extension("csv"), &args.file)?;
    let text = crate::export::read_capped_text(
        &args.file,
        crate::export::MAX_RESULT_BYTES,
        "result file",
    )?;
    let shown = args.file.display();
    let tag = FileTag::of(&text).map_err(|e| {
        anyhow::anyhow!(
            "'{shown}' is not a peff JSON result ({}); {ACCEPTS}",
            e.root_cause()
        )
    })?;
    let of_command = tag
        .command
        .as_deref()
        .map_or(String::new(), |c| format!(" of `peff {c}`"));
    if let Some(format) = &tag.format {
        #[derive(serde::Deserialize)]
        struct Envelope {
            run: Option<Run>,
        }
        #[derive(serde::Deserialize)]
        struct Run {
            shard: Option<serde::de::IgnoredAny>,
        }
        // Some formats serve as both (`peff-partial-2`, `peff-scaling-shard-1`): a file
        // without a shard is a whole run's checkpoint.
        let of_shard = serde_json::from_str::<Envelope>(&text)
            .ok()
            .and_then(|e| e.run)
            .is_some_and(|r| r.shard.is_some());
        if format.contains("checkpoint") || !of_shard {
            bail!(
                "'{shown}' is a checkpoint{of_command} (format '{format}'), not a result: verify the result its command writes (rerun the command if it did not finish)"
            );
        }
        bail!(
            "'{shown}' is a shard file{of_command} (format '{format}'), not a result: verify the result `peff merge` makes of a run's shards"
        );
    }
    let threads = || args.threads.validate();
    match tag.command.as_deref() {
        Some("memorize") => super::memorize::verify(&args.file, &text, threads()?),
        Some("scaling") => super::scaling::verify(&args.file, &text, threads()?),
        Some(super::noise_corr::COMMAND) => {
            super::noise_corr::verify(&args.file, &text, threads()?)
        }
        Some("stochastic") => super::stochastic::verify(&args.file, &text, threads()?),
        Some("exact" | "sample") => verify_toy(args, &text),
        Some(other) => bail!(
            "'{shown}' is a result of `peff {}`, which `peff verify` does not rerun; {ACCEPTS}",
            other.chars().take(40).collect::<String>()
        ),
        None => {
            bail!("'{shown}' is not a peff JSON result (it records no `run.command`); {ACCEPTS}")
        }
    }
}

/// Compares the rows a rerun gives (`rerun`) with those the result file `path` records, and,
/// when the CSV beside it (`<stem>.csv`) exists, that file with the rerun's CSV, byte for
/// byte. On success returns what was checked, for the message (`its 12 rows and 'x.csv'`);
/// otherwise a one-line error naming the first row that differs.
pub(crate) fn check_table<R: PartialEq + Serialize>(
    path: &Path,
    recorded: &[R],
    rerun: &[R],
) -> anyhow::Result<String> {
    let shown = path.display();
    if let Some(i) = (0..recorded.len().max(rerun.len())).find(|&i| recorded.get(i) != rerun.get(i))
    {
        let counts = if recorded.len() == rerun.len() {
            String::new()
        } else {
            format!(
                " (the file records {} rows, the rerun gives {})",
                recorded.len(),
                rerun.len()
            )
        };
        bail!(
            "verification failed: '{shown}': row {} differs from the rerun's{counts}",
            i + 1
        );
    }
    let csv_path = path.with_extension("csv");
    let mut checked = format!("its {} rows", rerun.len());
    if csv_path.exists() {
        let recorded_csv = crate::export::read_capped_text(
            &csv_path,
            crate::export::MAX_RESULT_BYTES,
            "result file",
        )?;
        if recorded_csv != crate::export::to_csv(rerun)? {
            bail!(
                "verification failed: '{}' differs from the rerun's table (the JSON's rows match)",
                csv_path.display()
            );
        }
        checked += &format!(" and '{}'", csv_path.display());
    }
    Ok(checked)
}

/// `peff verify` of an `exact` or `sample` result: the pmf hash of every recorded init, then
/// the table.
fn verify_toy(args: &VerifyArgs, text: &str) -> anyhow::Result<()> {
    let recorded: RecordedResult = serde_json::from_str(text).with_context(|| {
        format!(
            "'{}' is not a peff exact/sample JSON result",
            args.file.display()
        )
    })?;
    let expected = recorded
        .pmf_sha256
        .with_context(|| format!("'{}' records no pmf hash", args.file.display()))?;
    let threads = args.threads.validate()?;
    let pool = thread_pool(threads)?;
    let stop = super::signals::install();
    let whole = recorded.run;
    whole
        .config
        .validate()
        .with_context(|| format!("'{}': recorded configuration", args.file.display()))?;
    if whole.command != whole.config.command() || whole.shard.is_some() {
        bail!(
            "'{}' is not a peff exact/sample result of a whole run",
            args.file.display()
        );
    }
    let mut hashes = Vec::new();
    let mut per_init = Vec::new();
    for seed in whole.config.inits() {
        let identity = ToyRecord {
            config: whole.config.for_init(seed),
            ..whole.clone()
        };
        let total = dataset_count(&identity)
            .filter(|&t| t <= 1_000_000_000)
            .context(
                "recorded configuration has more than 10^9 datasets, more than `peff verify` reruns (it does not verify shard files)",
            )? as u64;
        let bar = progress_bar(total, "datasets");
        let tallies = pool
            .install(|| compute(&identity, 0..total, None, stop, &|n| bar.inc(n)))?
            .context("interrupted")?;
        bar.finish_and_clear();
        hashes.push(pmf_sha256(&identity.config.experiment, &tallies));
        per_init.push((identity.config, tallies));
    }
    let actual = hashes.join(",");
    if actual != expected {
        bail!("verification failed: pmf hash {actual} differs from the recorded {expected}");
    }
    // The hash covers the pmf; the table is what users read: recompute it and compare it with
    // the rows the JSON records and, when present, the CSV beside it.
    let (rows, csv) = table_of(&per_init, threads)?;
    let recorded_rows = recorded.rows.as_array().map_or(0, Vec::len);
    if rows != recorded.rows {
        let computed = rows.as_array().map_or(&[][..], Vec::as_slice);
        let recorded_slice = recorded.rows.as_array().map_or(&[][..], Vec::as_slice);
        let first = (0..computed.len().max(recorded_slice.len()))
            .find(|&i| computed.get(i) != recorded_slice.get(i))
            .unwrap_or(0);
        bail!(
            "verification failed: the pmf hash matches, but the table differs: the file records {recorded_rows} rows, the rerun gives {}; first difference at row {}",
            computed.len(),
            first + 1
        );
    }
    let csv_path = args.file.with_extension("csv");
    if csv_path.exists() {
        let recorded_csv = crate::export::read_capped_text(
            &csv_path,
            crate::export::MAX_RESULT_BYTES,
            "result file",
        )?;
        if recorded_csv != csv {
            bail!(
                "verification failed: '{}' differs from the recomputed table (the JSON matches)",
                csv_path.display()
            );
        }
    }
    println!(
        "verified: {} reproduces pmf hash {expected} and its {recorded_rows}-row table{}",
        args.file.display(),
        if csv_path.exists() {
            format!(" (and '{}')", csv_path.display())
        } else {
            String::new()
        }
    );
    Ok(())
}
