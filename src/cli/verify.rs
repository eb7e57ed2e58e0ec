//! `peff verify`: reruns the configuration recorded in a JSON result and checks its mask-pmf
//! hash (see [`crate::experiments::run::pmf_sha256`]).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::args::ThreadsArgs;
use super::common::{progress_bar, table_of, thread_pool, RecordedResult};
use crate::experiments::run::{compute, dataset_count, pmf_sha256};
use crate::experiments::toy::ToyRecord;

/// Flags of `peff verify`.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// A JSON result written by `peff exact`, `peff sample` or `peff memorize`.
    pub file: PathBuf,
    /// Worker threads.
    #[command(flatten)]
    pub threads: ThreadsArgs,
}

/// `peff verify`: reruns a JSON result's configuration and compares the pmf hash.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    crate::export::check_result_pair(&args.file.with_extension("csv"), &args.file)?;
    let text = crate::export::read_capped_text(
        &args.file,
        crate::export::MAX_RESULT_BYTES,
        "result file",
    )?;
    #[derive(serde::Deserialize)]
    struct Command {
        run: CommandName,
    }
    #[derive(serde::Deserialize)]
    struct CommandName {
        command: String,
    }
    if let Ok(Command { run }) = serde_json::from_str::<Command>(&text) {
        if run.command == "memorize" {
            let threads = args.threads.validate()?;
            return super::memorize::verify(&args.file, &text, threads);
        }
    }
    let recorded: RecordedResult = serde_json::from_str(&text).with_context(|| {
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
                "recorded configuration has more than 10^9 datasets; verify its shards instead",
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
