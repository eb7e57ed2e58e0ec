//! `peff verify`: reruns the configuration recorded in a JSON result and checks that the rerun
//! reproduces it. Results of `exact` and `sample` are checked by their mask-pmf hash (see
//! [`crate::experiments::toy::run::pmf_sha256`]) and their table; results of `memorize`,
//! `scaling`, `noise-corr` and `stochastic` by their table: the rows of the JSON and the CSV
//! beside it ([`super::compare`]). Each kind reruns through the computation its command runs:
//! the verify step of its row of `cli::EXPERIMENTS`.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::args::ThreadsArgs;
use super::common::VerifyRequest;
use crate::record::FileTag;

/// Flags of `peff verify`.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// The JSON result of a whole run of `peff exact`, `sample`, `memorize`, `scaling`,
    /// `noise-corr` or `stochastic`, or of `peff merge` of their shards (not a shard file or a
    /// checkpoint).
    pub file: PathBuf,
    /// Image results (`memorize` on fashion-mnist or cifar10): the directory of the data files
    /// to rerun on, instead of the one the result records (moved data, or a merged CIFAR-10
    /// result); they must hold exactly the data the result records (its SHA-256).
    #[arg(long, allow_hyphen_values = true)]
    pub data: Option<PathBuf>,
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
    let text =
        crate::input::read_capped_text(&args.file, crate::input::MAX_RESULT_BYTES, "result file")?;
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
    let Some(command) = tag.command.as_deref() else {
        bail!("'{shown}' is not a peff JSON result (it records no `run.command`); {ACCEPTS}")
    };
    let Some(experiment) = super::experiment_of_command(command) else {
        bail!(
            "'{shown}' is a result of `peff {}`, which `peff verify` does not rerun; {ACCEPTS}",
            command.chars().take(40).collect::<String>()
        );
    };
    if args.data.is_some() && !experiment.data_files {
        bail!(
            "`--data` is for image results (of `peff memorize` on fashion-mnist or cifar10); '{shown}' is a result{of_command}"
        );
    }
    (experiment.verify)(&VerifyRequest {
        file: &args.file,
        text: &text,
        threads: &args.threads,
        data: args.data.as_deref(),
    })
}
