//! `peff verify`: reruns the configuration recorded in a JSON result and checks its mask-pmf
//! hash (see [`crate::experiments::run::pmf_sha256`]).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::exact::{progress_bar, thread_pool, RecordedRun};
use crate::experiments::run::{compute, dataset_count, pmf_sha256};
use crate::partial::{RunIdentity, Shard};

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
    let stop = super::signals::install();
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
            .install(|| {
                compute(&identity, Shard::WHOLE, 0..total, None, stop, &|n| {
                    bar.inc(n)
                })
            })?
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
