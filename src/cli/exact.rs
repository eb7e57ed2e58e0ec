//! `peff exact`: exact `H(m | init) = I(m; D | init)` per method and k, by enumerating every
//! dataset; also the driver `peff sample` shares.
//!
//! The driver: choose the dataset slice (`--shard i/N`), resume from a checkpoint if one
//! matches, tally in windows (saving the checkpoint and honouring Ctrl-C between windows; see
//! [`crate::experiments::run`]), then write either a partial-result file (shards) or the result
//! table and JSON record.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};

use super::args::ToyArgs;
use super::common::{finish, progress_bar, thread_pool, Destination};
use crate::experiments::run::{compute, dataset_count, Checkpoint};
use crate::experiments::toy::partial::Partial;
use crate::experiments::toy::{ToyRecord, ToyRun};
use crate::export::{self, write_atomic};
use crate::model::toy::init_file::InitFile;
use crate::record::{RunRecord, Shard, Threads};

/// `peff exact`.
pub fn run(args: &ToyArgs) -> anyhow::Result<()> {
    run_toy(args, None)
}

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
    export::check_out_dir(&args.output.out)?;
    let stem = args
        .output
        .name
        .clone()
        .unwrap_or_else(|| format!("{command}-{}", first.config.experiment.task));
    let dest = Destination {
        out: &args.output.out,
        stem,
        format: args.output.format,
        force: args.output.force,
    };
    let shard_path = shard.map(|shard| args.output.out.join(shard.file_name(&dest.stem)));
    // Every output path is checked before any work.
    let [csv_path, json_path] = dest.paths();
    let mut outputs: Vec<(&str, &Path)> = match &shard_path {
        Some(path) => vec![("the shard file", path.as_path())],
        None => vec![
            ("the result file", csv_path.as_path()),
            ("the result file", json_path.as_path()),
        ],
    };
    if let Some(path) = &args.checkpoint {
        outputs.push(("`--checkpoint`", path));
    }
    if let Some(path) = &args.dump_init {
        outputs.push(("`--dump-init`", path));
    }
    export::check_output_paths(&outputs)?;
    match &shard_path {
        Some(path) => {
            export::check_shard_overwrite(path, &serde_json::to_value(&first)?, args.output.force)?;
        }
        None => {
            let record = RunRecord {
                command: command.to_string(),
                config: whole.clone(),
                shard: None,
            };
            export::check_overwrite(
                &json_path,
                &serde_json::to_value(&record)?,
                args.output.force,
            )?;
        }
    }
    if let Some(path) = &args.dump_init {
        let exp = &first.config.experiment;
        let file = InitFile::from_params(&exp.shape.layers(), &exp.init);
        write_atomic(path, file.to_json().as_bytes()).context("`--dump-init`")?;
        eprintln!("wrote {}", path.display());
    }
    let stop = super::signals::install();
    let checkpoint = args
        .checkpoint
        .as_ref()
        .map(|path| Checkpoint::new(path.clone(), run.checkpoint_interval));
    let pool = thread_pool(run.threads)?;
    let started = Instant::now();
    let range = slice(total);
    let bar = progress_bar((range.end - range.start) * inits.len() as u64, "datasets");
    let mut per_init = Vec::new();
    for &seed in &inits {
        let record = record_for(seed);
        let tallies = pool.install(|| {
            compute(&record, range.clone(), checkpoint.as_ref(), stop, &|n| {
                bar.inc(n)
            })
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
        per_init.push((record.config, tallies));
    }
    bar.finish_and_clear();
    // A resumed run's wall time covers its earlier parts too (recorded in the checkpoint).
    let earlier = checkpoint.as_ref().map_or(0.0, Checkpoint::earlier_secs);
    let started = std::time::Duration::try_from_secs_f64(earlier)
        .ok()
        .and_then(|d| started.checked_sub(d))
        .unwrap_or(started);
    if let Some(path) = shard_path {
        let tallies = &per_init[0].1;
        let partial = Partial::from_tallies(first, range.clone(), range.end - range.start, tallies);
        write_atomic(&path, serde_json::to_string(&partial)?.as_bytes())?;
        println!("{}", path.display());
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    finish(&dest, &whole, per_init, Threads::Ran(run.threads), started)
}
