//! `peff verify`: reruns the configuration recorded in a JSON result and checks its mask-pmf
//! hash (see [`crate::experiments::run::pmf_sha256`]).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::exact::{progress_bar, thread_pool, RecordedResult};
use crate::experiments::run::{compute, dataset_count, pmf_sha256};
use crate::experiments::toy::ToyRecord;

/// Flags of `peff verify`.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// A JSON result written by `peff exact` or `peff sample`.
    pub file: PathBuf,
    /// Worker threads (0: all cores).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub threads: usize,
}

/// `peff verify`: reruns a JSON result's configuration and compares the pmf hash.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let text = crate::export::read_capped_text(
        &args.file,
        crate::export::MAX_RESULT_BYTES,
        "result file",
    )?;
    let recorded: RecordedResult = serde_json::from_str(&text).with_context(|| {
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
        let bar = progress_bar(total);
        let tallies = pool
            .install(|| compute(&identity, 0..total, None, stop, &|n| bar.inc(n)))?
            .context("interrupted")?;
        bar.finish_and_clear();
        hashes.push(pmf_sha256(&identity.config.experiment, &tallies));
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
