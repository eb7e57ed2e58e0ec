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
    if args.data.is_some() && tag.command.as_deref() != Some("memorize") {
        bail!(
            "`--data` is for image results (of `peff memorize` on fashion-mnist or cifar10); '{shown}' is a result{of_command}"
        );
    }
    match tag.command.as_deref() {
        Some("memorize") => {
            super::memorize::verify(&args.file, &text, threads()?, args.data.as_deref())
        }
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

/// The keys of a result file ([`crate::record::ResultFile`]); `peff verify` refuses any
/// other, whatever the kind of result.
const RESULT_KEYS: &[&str] = &[
    "peff_version",
    "git_commit",
    "run",
    "threads",
    "merged_from_shards",
    "wall_seconds",
    "pmf_sha256",
    "summary",
    "csv_sha256",
    "rows",
];

/// The checks of a result file's text that are the same for every kind of result: its keys
/// are those of a result file ([`RESULT_KEYS`]; how it ran — version, commit, threads, wall
/// time — is not compared), and its `summary` equals the rerun's (`summary`, `None` for the
/// kinds that write none; a top-level summary key added by a later peff is not asked of an
/// older file), so that neither an added key nor an edited summary passes.
pub(crate) fn check_envelope(
    path: &Path,
    text: &str,
    summary: Option<&serde_json::Value>,
) -> anyhow::Result<()> {
    let shown = path.display();
    let value: serde_json::Value = serde_json::from_str(text)
        .with_context(|| format!("'{shown}' is not a peff JSON result"))?;
    let object = value
        .as_object()
        .with_context(|| format!("'{shown}' is not a peff JSON result (not an object)"))?;
    if let Some(key) = object.keys().find(|k| !RESULT_KEYS.contains(&k.as_str())) {
        bail!(
            "verification failed: '{shown}' has the key {}, which no peff result has",
            super::errors::quote(key)
        );
    }
    match (object.get("summary"), summary) {
        (None, None) => {}
        (Some(_), None) => bail!(
            "verification failed: '{shown}' has a `summary`, which this kind of result never has"
        ),
        (None, Some(_)) => {
            bail!("verification failed: '{shown}' has no `summary`; the rerun gives one")
        }
        (Some(recorded), Some(rerun)) => {
            // A summary key added since the file was written is not asked of it.
            let mut rerun = rerun.clone();
            if let (Some(rerun), Some(recorded)) = (rerun.as_object_mut(), recorded.as_object()) {
                rerun.retain(|key, _| recorded.contains_key(key));
            }
            if let Some((field, got, want)) =
                crate::record::first_difference(recorded, &rerun, "summary")
            {
                bail!("verification failed: '{shown}': `{field}` is {got}, the rerun gives {want}");
            }
        }
    }
    Ok(())
}

/// Compares the rows a rerun gives (`rerun`) with those the result file `path` (its text
/// `text`) records, as JSON, so that a key added to a row fails as a changed value does; and,
/// when the CSV beside it (`<stem>.csv`) exists, that file with the rerun's CSV, byte for
/// byte. On success returns what was checked, for the message (`its 12 rows and 'x.csv'`);
/// otherwise a one-line error naming the first row that differs.
pub(crate) fn check_table<R: Serialize>(
    path: &Path,
    text: &str,
    rerun: &[R],
) -> anyhow::Result<String> {
    let shown = path.display();
    #[derive(serde::Deserialize)]
    struct Rows {
        rows: Vec<serde_json::Value>,
    }
    let recorded = serde_json::from_str::<Rows>(text)
        .with_context(|| format!("'{shown}': `rows`"))?
        .rows;
    let rerun_values = rerun
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(i) =
        (0..recorded.len().max(rerun.len())).find(|&i| recorded.get(i) != rerun_values.get(i))
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
        let what = match (recorded.get(i), rerun_values.get(i)) {
            (Some(a), Some(b)) => crate::record::first_difference(a, b, "")
                .map(|(field, got, want)| {
                    format!(
                        ": `{}` is {got}, the rerun gives {want}",
                        field.trim_start_matches('.')
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        bail!(
            "verification failed: '{shown}': row {} differs from the rerun's{counts}{what}",
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
        let what = match (recorded_slice.get(first), computed.get(first)) {
            (Some(a), Some(b)) => crate::record::first_difference(a, b, "")
                .map(|(field, got, want)| {
                    format!(
                        ": `{}` is {got}, the rerun gives {want}",
                        field.trim_start_matches('.')
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        bail!(
            "verification failed: the pmf hash matches, but the table differs: the file records {recorded_rows} rows, the rerun gives {}; first difference at row {}{what}",
            computed.len(),
            first + 1
        );
    }
    check_envelope(&args.file, text, None)?;
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
