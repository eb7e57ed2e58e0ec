//! `peff exact`: exact `H(m | init) = I(m; D | init)` per method and k, by enumerating every
//! dataset; also the driver `peff sample` and `peff merge` share.
//!
//! The driver: choose the dataset slice (`--shard i/N`), resume from a checkpoint if one
//! matches, tally in windows (saving the checkpoint and honouring Ctrl-C between windows; see
//! [`crate::experiments::run`]), then write either a partial-result file (shards) or the result
//! table and JSON record.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::args::ToyArgs;
use crate::experiments::run::{compute, dataset_count, pmf_sha256, Checkpoint};
use crate::experiments::toy::{ToyRecord, ToyRun};
use crate::export::{self, render, write_atomic, Format};
use crate::info::tally::MaskTally;
use crate::model::toy::init_file::InitFile;
use crate::partial::Partial;
use crate::record::{ResultFile, RunRecord, Shard};
use crate::report::{exact_rows, multi_init_rows, sample_rows, ExactRow};

/// `peff exact`.
pub fn run(args: &ToyArgs) -> anyhow::Result<()> {
    run_toy(args, None)
}

/// The progress line: the bar takes what the terminal width leaves (`wide_bar`), so the line
/// never wraps; the text around it stays under 60 characters.
pub(crate) const PROGRESS_TEMPLATE: &str =
    "{elapsed_precise} [{wide_bar}] {pos}/{len} datasets, {eta} left";

pub(crate) fn progress_bar(total: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template(PROGRESS_TEMPLATE)
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

pub(crate) fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")
}

/// The part of a JSON result file `peff verify` reads.
#[derive(Deserialize)]
pub(crate) struct RecordedResult {
    pub(crate) run: ToyRecord,
    pub(crate) pmf_sha256: Option<String>,
    /// The table the file records (compared with the recomputed one).
    pub(crate) rows: serde_json::Value,
}

/// The table of finished tallies (one entry per init), as the result files hold it: the rows
/// as JSON and as CSV text. `peff verify` compares a recorded result with this.
pub(crate) fn table_of(
    per_init: &[(ToyRun, Vec<MaskTally>)],
    threads: usize,
) -> anyhow::Result<(serde_json::Value, String)> {
    let first = &per_init[0].0;
    if let Some(samples) = first.samples {
        let rows = thread_pool(threads)?
            .install(|| sample_rows(&first.experiment, &per_init[0].1, samples))?;
        return Ok((serde_json::to_value(&rows)?, export::to_csv(&rows)?));
    }
    let tables: Vec<(u64, Vec<ExactRow>)> = per_init
        .iter()
        .map(|(run, t)| {
            (
                run.experiment.init_seed.unwrap_or(0),
                exact_rows(&run.experiment, t),
            )
        })
        .collect();
    if tables.len() == 1 {
        let rows = &tables[0].1;
        Ok((serde_json::to_value(rows)?, export::to_csv(rows)?))
    } else {
        let rows = multi_init_rows(&tables);
        Ok((serde_json::to_value(&rows)?, export::to_csv(&rows)?))
    }
}

/// Where and how a run's results go.
pub(crate) struct Destination<'a> {
    pub(crate) out: &'a Path,
    pub(crate) stem: String,
    pub(crate) format: Format,
}

impl Destination<'_> {
    /// `<out>/<stem>.csv` and `<out>/<stem>.json`.
    pub(crate) fn paths(&self) -> [std::path::PathBuf; 2] {
        [
            self.out.join(format!("{}.csv", self.stem)),
            self.out.join(format!("{}.json", self.stem)),
        ]
    }

    /// Writes `<stem>.csv` and `<stem>.json` as one unit ([`export::write_result_files`]),
    /// prints the rows on stdout and the paths written on stderr.
    fn emit<R: Serialize>(&self, record: &ResultFile<'_, ToyRun, R>) -> anyhow::Result<()> {
        let [csv, json] = self.paths();
        export::write_result_files(&[
            (csv.clone(), export::to_csv(record.rows)?.into_bytes()),
            (
                json.clone(),
                (serde_json::to_string_pretty(record)? + "\n").into_bytes(),
            ),
        ])?;
        print!("{}", render(record.rows, self.format)?);
        eprintln!("wrote {} and {}", csv.display(), json.display());
        Ok(())
    }
}

/// `peff exact` and `peff sample`.
pub(crate) fn run_toy(args: &ToyArgs, sampling: Option<(u64, u64)>) -> anyhow::Result<()> {
    let run = args.validate()?;
    args.note_rows(&run);
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
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
    export::check_out_dir(&args.out)?;
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{command}-{}", first.config.experiment.task));
    let dest = Destination {
        out: &args.out,
        stem,
        format: args.format,
    };
    let shard_path = shard.map(|shard| args.out.join(shard.file_name(&dest.stem)));
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
            export::check_shard_overwrite(path, &serde_json::to_value(&first)?, args.force)?;
        }
        None => {
            let record = RunRecord {
                command: command.to_string(),
                config: whole.clone(),
                shard: None,
            };
            export::check_overwrite(&json_path, &serde_json::to_value(&record)?, args.force)?;
        }
    }
    if let Some(path) = &args.dump_init {
        let exp = &first.config.experiment;
        let file = InitFile::from_params(&exp.shape.layers(), &exp.init);
        write_atomic(path, file.to_json().as_bytes()).context("`--dump-init`")?;
    }
    let stop = super::signals::install();
    let checkpoint = args.checkpoint.as_ref().map(|path| Checkpoint {
        path: path.clone(),
        interval_secs: run.checkpoint_interval,
    });
    let pool = thread_pool(run.threads)?;
    let started = Instant::now();
    let range = slice(total);
    let bar = progress_bar((range.end - range.start) * inits.len() as u64);
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
    if let Some(path) = shard_path {
        let tallies = &per_init[0].1;
        let partial = Partial::new(first, range.clone(), range.end - range.start, tallies);
        write_atomic(&path, serde_json::to_string(&partial)?.as_bytes())?;
        println!("{}", path.display());
        return Ok(());
    }
    finish(&dest, &whole, per_init, run.threads, started)
}

/// Rows, result files and stdout for the finished tallies of `whole`, one entry per init.
pub(crate) fn finish(
    dest: &Destination<'_>,
    whole: &ToyRun,
    per_init: Vec<(ToyRun, Vec<MaskTally>)>,
    threads: usize,
    started: Instant,
) -> anyhow::Result<()> {
    let hash = per_init
        .iter()
        .map(|(run, t)| pmf_sha256(&run.experiment, t))
        .collect::<Vec<String>>()
        .join(",");
    let record = RunRecord {
        command: whole.command().to_string(),
        config: whole.clone(),
        shard: None,
    };
    fn file<'a, R: Serialize>(
        record: &'a RunRecord<ToyRun>,
        threads: usize,
        started: Instant,
        hash: &str,
        rows: &'a [R],
    ) -> ResultFile<'a, ToyRun, R> {
        let mut file = ResultFile::new(record, threads, started.elapsed().as_secs_f64(), rows);
        file.pmf_sha256 = Some(hash.to_string());
        file
    }
    let first = &per_init[0].0;
    if let Some(samples) = first.samples {
        let rows = thread_pool(threads)?
            .install(|| sample_rows(&first.experiment, &per_init[0].1, samples))?;
        let mut seen: Vec<(String, usize)> = Vec::new();
        let table: Vec<ExactRow> = rows
            .iter()
            .filter(|r| {
                let key = (r.row.method.clone(), r.row.k);
                let new = !seen.contains(&key);
                seen.push(key);
                new
            })
            .map(|r| r.row.clone())
            .collect();
        warn_about_divergence(&table);
        return dest.emit(&file(&record, threads, started, &hash, &rows));
    }
    let mut tables: Vec<(u64, Vec<ExactRow>)> = per_init
        .iter()
        .map(|(run, t)| {
            (
                run.experiment.init_seed.unwrap_or(0),
                exact_rows(&run.experiment, t),
            )
        })
        .collect();
    for (_, rows) in &tables {
        warn_about_divergence(rows);
    }
    if tables.len() == 1 {
        let rows = tables.remove(0).1;
        dest.emit(&file(&record, threads, started, &hash, &rows))
    } else {
        let rows = multi_init_rows(&tables);
        dest.emit(&file(&record, threads, started, &hash, &rows))
    }
}

/// Says on stderr which rows lost runs to divergence: rows where every run diverged have no
/// pmf (their entropy cells are empty), and rows where some did describe only the rest.
pub(crate) fn warn_about_divergence(rows: &[ExactRow]) {
    let list = |rows: &[&ExactRow]| {
        let names: Vec<String> = rows
            .iter()
            .take(6)
            .map(|r| format!("{} k={}", r.method, r.k))
            .collect();
        let more = if rows.len() > 6 { ", …" } else { "" };
        format!("{}{more}", names.join(", "))
    };
    let all: Vec<&ExactRow> = rows.iter().filter(|r| r.entropy_bits.is_none()).collect();
    let some: Vec<&ExactRow> = rows
        .iter()
        .filter(|r| r.entropy_bits.is_some() && r.diverged > 0)
        .collect();
    if !all.is_empty() {
        eprintln!(
            "warning: every training run diverged in {} rows ({}): they have no mask pmf, so entropy_bits, mi_bits and p_eff are empty; lower `--lr` (or check `--grasp-temperature`)",
            all.len(),
            list(&all)
        );
    }
    if !some.is_empty() {
        eprintln!(
            "warning: some training runs diverged in {} rows ({}): their pmf covers the other datasets only (column `diverged`)",
            some.len(),
            list(&some)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The progress line was 40 columns of bar plus text, wider than 80 columns: it wrapped.
    /// The bar is now `wide_bar` and the text around it leaves room on an 80-column terminal.
    #[test]
    fn progress_line_fits_80_columns() {
        assert!(PROGRESS_TEMPLATE.contains("{wide_bar}"));
        let text = PROGRESS_TEMPLATE
            .replace("{elapsed_precise}", "00:00:00")
            .replace("{wide_bar}", "")
            .replace("{pos}", "9999999999")
            .replace("{len}", "9999999999")
            .replace("{eta}", "59m 9s");
        // At least 20 of 80 columns remain for the bar.
        assert!(text.chars().count() <= 60, "{text}");
    }
}
