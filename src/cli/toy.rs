//! The toy experiment's driver, shared by `peff exact` and `peff sample`: run (`run_toy`),
//! merge of its shards (`merge`) and rerun-and-compare (`verify`).
//!
//! The run: choose the dataset slice (`--shard i/N`), resume from a checkpoint if one
//! matches, tally in windows (saving the checkpoint and honouring Ctrl-C between windows; see
//! [`crate::experiments::toy::run`]), then write either a partial-result file (shards) or the result
//! table and JSON record.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};

use super::args::{OutputArgs, ToyArgs};
use super::common::{
    finish, merged, table_of, Destination, RecordedResult, ShardInput, VerifyRequest,
};
use crate::experiments::pipeline::checkpoint::Checkpointer;
use crate::experiments::toy::partial::Partial;
use crate::experiments::toy::run::{dataset_count, pmf_sha256, ToyPass};
use crate::experiments::toy::{ToyRecord, ToyRun};
use crate::export::write_atomic;
use crate::model::toy::init_file::InitFile;
use crate::record::{RunRecord, Shard, Threads};

/// `peff exact` and `peff sample`.
pub(crate) fn run_toy(args: &ToyArgs, sampling: Option<(u64, u64)>) -> anyhow::Result<()> {
    let run = args.validate()?;
    args.note_rows(&run);
    let shard = args.shard.validate()?;
    let whole = ToyRun {
        experiment: run.experiment.clone(),
        init_seeds: run.init_seeds.clone(),
        samples: sampling.map(|s| s.0),
        sample_seed: sampling.map(|s| s.1),
    };
    let command = whole.command();
    let inits = whole.inits();
    if inits.len() > 1 && (shard.is_some() || args.checkpoint.is_some() || sampling.is_some()) {
        bail!("`--inits` runs whole exact enumerations only; run `--shard`, `--checkpoint` and `peff sample` once per `--init-seed`");
    }
    let record_for = |seed: Option<u64>| ToyRecord {
        command: command.to_string(),
        config: whole.for_init(seed),
        shard,
    };
    let first = record_for(inits[0]);
    let total = dataset_count(&first);
    let slice = |total: u64| shard.unwrap_or(Shard::WHOLE).range(total);
    match total {
        Some(t)
            if sampling.is_some()
                || slice(t as u64).count() as u128 <= run.max_datasets as u128 => {}
        _ => {
            let count = total.map_or("more than 2^128".to_string(), |c| c.to_string());
            let shards = total.map_or("many".to_string(), |c| {
                c.div_ceil(run.max_datasets as u128).to_string()
            });
            bail!(
                "enumeration has {count} datasets (multisets), more than `--max-datasets` {}; use `peff sample`, or split it with `--shard i/N` (N ≥ {shards}), or raise `--max-datasets`",
                run.max_datasets
            );
        }
    }
    let total = total.expect("checked above") as u64;
    let dest = Destination::of(&args.output, || {
        Ok(format!("{command}-{}", first.config.experiment.task))
    })?;
    // Every output path is checked before any work.
    let mut others: Vec<(&str, &Path)> = Vec::new();
    others.extend(
        args.checkpoint
            .as_deref()
            .map(|path| ("`--checkpoint`", path)),
    );
    others.extend(
        args.dump_init
            .as_deref()
            .map(|path| ("`--dump-init`", path)),
    );
    // A shard file records the shard's own run; a result, the whole run (every init).
    let record = match shard {
        Some(_) => serde_json::to_value(&first)?,
        None => serde_json::to_value(RunRecord {
            command: command.to_string(),
            config: whole.clone(),
            shard: None,
        })?,
    };
    let shard_path = dest.check_before_work(shard, &record, &others)?;
    if let Some(path) = &args.dump_init {
        let exp = &first.config.experiment;
        let file = InitFile::from_params(&exp.shape.layers(), &exp.init);
        write_atomic(path, file.to_json().as_bytes()).context("`--dump-init`")?;
        eprintln!("wrote {}", path.display());
    }
    let checkpoint = args
        .checkpoint
        .as_ref()
        .map(|path| Checkpointer::new(path, run.checkpoint_interval));
    let range = slice(total);
    let mut per_init = Vec::new();
    let mut started = None;
    for &seed in &inits {
        let record = record_for(seed);
        let pass = ToyPass {
            record: &record,
            range: range.clone(),
        };
        let finished = super::drive::execute(
            &pass,
            run.threads,
            checkpoint.as_ref(),
            "stopping after the current unit of work…",
        )?;
        // A resumed run's wall time covers its earlier parts too (recorded in the checkpoint).
        started.get_or_insert(finished.started);
        let tallies = finished.output;
        per_init.push((record.config, tallies));
    }
    let started = started.unwrap_or_else(Instant::now);
    if let Some(path) = shard_path {
        let tallies = &per_init[0].1;
        let partial = Partial::from_tallies(first, range.clone(), range.end - range.start, tallies);
        return super::drive::write_shard(&path, &partial.run, partial.payload);
    }
    finish(&dest, &whole, per_init, Threads::Ran(run.threads), started)
}

/// `peff verify` of an `exact` or `sample` result: the pmf hash of every recorded init, then
/// the table.
pub(crate) fn verify(request: &VerifyRequest<'_>) -> anyhow::Result<()> {
    let (file, text) = (request.file, request.text);
    let recorded: RecordedResult = serde_json::from_str(text).with_context(|| {
        format!(
            "'{}' is not a peff exact/sample JSON result",
            file.display()
        )
    })?;
    let expected = recorded
        .pmf_sha256
        .with_context(|| format!("'{}' records no pmf hash", file.display()))?;
    let threads = request.threads.validate()?;
    let whole = recorded.run;
    whole
        .config
        .validate()
        .with_context(|| format!("'{}': recorded configuration", file.display()))?;
    if whole.command != whole.config.command() || whole.shard.is_some() {
        bail!(
            "'{}' is not a peff exact/sample result of a whole run",
            file.display()
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
        let pass = ToyPass {
            record: &identity,
            range: 0..total,
        };
        let tallies = super::drive::rerun(&pass, threads)?;
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
        let what = super::compare::row_difference(recorded_slice.get(first), computed.get(first));
        bail!(
            "verification failed: the pmf hash matches, but the table differs: the file records {recorded_rows} rows, the rerun gives {}; first difference at row {}{what}",
            computed.len(),
            first + 1
        );
    }
    super::compare::check_envelope(file, text, None)?;
    let csv_path = file.with_extension("csv");
    if csv_path.exists() {
        let recorded_csv = crate::input::read_capped_text(
            &csv_path,
            crate::input::MAX_RESULT_BYTES,
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
        file.display(),
        if csv_path.exists() {
            format!(" (and '{}')", csv_path.display())
        } else {
            String::new()
        }
    );
    Ok(())
}

/// The toy experiment's shards (`exact`, `sample`) into the whole run's table.
pub(crate) fn merge(
    inputs: &[ShardInput<'_>],
    output: &OutputArgs,
    started: Instant,
) -> anyhow::Result<()> {
    let (dest, whole, tallies, threads) = merged(
        inputs,
        output,
        |parts: &[Partial]| crate::experiments::toy::partial::merge(parts),
        |whole| {
            Ok(format!(
                "{}-{}",
                whole.command, whole.config.experiment.task
            ))
        },
    )?;
    let run = whole.config.for_init(whole.config.inits()[0]);
    finish(&dest, &whole.config, vec![(run, tallies)], threads, started)
}
