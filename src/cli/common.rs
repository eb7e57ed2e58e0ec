//! What several subcommands share, in one place so that no CLI file borrows from a sibling:
//! the progress bar and the thread pool of every long run; the memory check that `memorize`,
//! `noise-corr`, `stochastic` and `peff verify` of their results apply before any work
//! (`check_memory`: an estimate against [`crate::memory::memory_limit`]); `Destination`, where a result
//! table goes (`<out>/<stem>.csv` and `.json`, written as one unit, the rows printed); and the
//! toy driver's last step, shared by `exact`, `sample` and `merge` (`finish`), with the table
//! `peff verify` recomputes (`table_of`, `RecordedResult`).

use std::io::IsTerminal;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::experiments::toy::report::{exact_rows, multi_init_rows, sample_rows, ExactRow};
use crate::experiments::toy::run::pmf_sha256;
use crate::experiments::toy::{ToyRecord, ToyRun};
use crate::export::{self, render, Format};
use crate::info::tally::MaskTally;
use crate::prune::Method;
use crate::record::{ResultFile, RunRecord, Shard, ShardFile, ShardPayload, Threads};

/// The progress line: the bar takes what the terminal width leaves (`wide_bar`), so the line
/// never wraps; the text around it stays under 60 characters.
pub(crate) const PROGRESS_TEMPLATE: &str =
    "{elapsed_precise} [{wide_bar}] {pos}/{len} {msg}, {eta} left";

pub(crate) fn progress_bar(total: u64, unit: &'static str) -> ProgressBar {
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
    bar.set_message(unit);
    // Drawn from the start, not only when the first unit of work ends.
    bar.tick();
    bar
}

pub(crate) fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")
}

/// Resident bytes of the process before a run allocates anything (code, libraries, thread
/// stacks, the allocator's own state), measured (`docs/large-runs.md`, "Memory") and rounded
/// up; every command's estimate adds it.
pub(crate) const BASE_BYTES: u128 = 16 << 20;

/// Refuses, before any work, a run whose estimate (`bytes`, from the flags, plus
/// [`BASE_BYTES`]) exceeds the memory this process may use ([`crate::memory::memory_limit`]:
/// the smallest of `MemTotal`, the cgroup's limit and `ulimit -v`): one line naming the
/// estimate (`detail`: what it is made of), the limit and which limit it is, and the flags to
/// `lower` — instead of an abort or an OOM kill midway. `peff verify` applies the same check.
pub(crate) fn check_memory(bytes: u128, detail: &str, lower: &str) -> anyhow::Result<()> {
    let need = bytes.saturating_add(BASE_BYTES);
    let limit = crate::memory::memory_limit();
    if need > u128::from(limit.bytes) {
        anyhow::bail!(
            "this run needs about {} of memory ({detail}), more than {limit}; lower {lower}",
            crate::memory::human_bytes(need),
        );
    }
    Ok(())
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
    /// `--out`.
    pub(crate) out: &'a Path,
    /// The file name stem (`--name`, or the command's default).
    pub(crate) stem: String,
    /// `--format` of stdout.
    pub(crate) format: Format,
    /// `--force`: replace a result of another configuration.
    pub(crate) force: bool,
}

/// The worker threads to compute with for a result that `threads` describes: its own, or all
/// cores for a merge (whose rows do not depend on them).
pub(crate) fn workers(threads: Threads) -> usize {
    match threads {
        Threads::Ran(n) => n,
        Threads::Merged { .. } => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

impl<'a> Destination<'a> {
    /// Where `output` sends a run's result: `--out` (created, and checked writable) and
    /// `--name`, or `default_stem` when no name is given.
    pub(crate) fn of(
        output: &'a super::args::OutputArgs,
        default_stem: impl FnOnce() -> anyhow::Result<String>,
    ) -> anyhow::Result<Self> {
        export::check_out_dir(&output.out)?;
        let stem = match &output.name {
            Some(name) => name.clone(),
            None => default_stem()?,
        };
        Ok(Destination {
            out: &output.out,
            stem,
            format: output.format,
            force: output.force,
        })
    }

    /// `<out>/<stem>.csv` and `<out>/<stem>.json`.
    pub(crate) fn paths(&self) -> [PathBuf; 2] {
        [
            self.out.join(format!("{}.csv", self.stem)),
            self.out.join(format!("{}.json", self.stem)),
        ]
    }

    /// Checks every path the run will write before any work ([`export::check_output_paths`]):
    /// the shard file of `shard` (`<out>/<stem>.shard-i-of-N.json`), or the result's CSV and
    /// JSON, then `others` (a checkpoint, a figure, a dumped init). Returns the shard file's path.
    /// [`Destination::check_before_work`] adds the check that it is not another run's.
    pub(crate) fn check_outputs(
        &self,
        shard: Option<Shard>,
        others: &[(&str, &Path)],
    ) -> anyhow::Result<Option<PathBuf>> {
        let [csv, json] = self.paths();
        let shard_file = shard.map(|s| self.out.join(s.file_name(&self.stem)));
        let mut outputs: Vec<(&str, &Path)> = match &shard_file {
            Some(path) => vec![("the shard file", path)],
            None => vec![("the result file", &csv), ("the result file", &json)],
        };
        outputs.extend_from_slice(others);
        export::check_output_paths(&outputs)?;
        Ok(shard_file)
    }

    /// Everything checked before a run `run` does any work: its output paths
    /// ([`Destination::check_outputs`]), then that its shard file or result is not another
    /// configuration's without `--force` ([`export::check_destination`]). Returns the shard
    /// file's path.
    pub(crate) fn check_before_work(
        &self,
        shard: Option<Shard>,
        run: &impl Serialize,
        others: &[(&str, &Path)],
    ) -> anyhow::Result<Option<PathBuf>> {
        self.check_outputs(shard, others)?;
        let run = serde_json::to_value(run)?;
        export::check_destination(self.out, &self.stem, shard, &run, self.force)
    }

    /// Prints the rows on stdout, then writes `<stem>.csv` and `<stem>.json` as one unit
    /// ([`export::write_result_files`], the JSON recording the CSV's SHA-256 and the
    /// "another configuration" check repeated under the lock) and prints the paths written on
    /// stderr. The rows are printed first, so a full disk or a refused replacement never loses
    /// the computed table.
    pub(crate) fn emit<C: Serialize, R: Serialize>(
        &self,
        record: ResultFile<'_, C, R>,
    ) -> anyhow::Result<()> {
        self.emit_with_figure(record, None)
    }

    /// [`Destination::emit`] of a result with a figure: `figure` is its path and the SVG, or
    /// `None` for the SVG when there is nothing to draw. The SVG is written with the CSV and
    /// JSON as one unit, or, when there is none, a figure an earlier run left at the path is
    /// removed with that unit, so the files on disk always come from one run.
    pub(crate) fn emit_with_figure<C: Serialize, R: Serialize>(
        &self,
        mut record: ResultFile<'_, C, R>,
        figure: Option<(&Path, Option<String>)>,
    ) -> anyhow::Result<()> {
        let [csv, json] = self.paths();
        let csv_text = export::to_csv(record.rows)?;
        {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            // A closed stdout (`| head`) must not stop the files from being written.
            let _ = stdout.write_all(render(record.rows, self.format)?.as_bytes());
            let _ = stdout.flush();
        }
        record.csv_sha256 = Some(export::sha256_hex(csv_text.as_bytes()));
        let run = serde_json::to_value(record.run)?;
        let mut files = vec![
            (csv.clone(), csv_text.into_bytes()),
            (
                json.clone(),
                (serde_json::to_string_pretty(&record)? + "\n").into_bytes(),
            ),
        ];
        let drawn = figure
            .as_ref()
            .and_then(|(path, svg)| svg.is_some().then_some(*path));
        let mut remove = Vec::new();
        match figure {
            Some((path, Some(svg))) => files.push((path.to_path_buf(), svg.into_bytes())),
            Some((path, None)) => remove.push(path),
            None => {}
        }
        export::write_result_files_removing(&files, &remove, Some((&json, &run, self.force)))?;
        match drawn {
            Some(svg) => eprintln!(
                "wrote {}, {} and {}",
                csv.display(),
                json.display(),
                svg.display()
            ),
            _ => eprintln!("wrote {} and {}", csv.display(), json.display()),
        }
        Ok(())
    }
}

/// Rows, result files and stdout for the finished tallies of `whole`, one entry per init;
/// `threads` is what the result file records (and, for a run, the pool the rows use).
pub(crate) fn finish(
    dest: &Destination<'_>,
    whole: &ToyRun,
    per_init: Vec<(ToyRun, Vec<MaskTally>)>,
    threads: Threads,
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
        threads: Threads,
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
        let rows = thread_pool(workers(threads))?
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
        return dest.emit(file(&record, threads, started, &hash, &rows));
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
        dest.emit(file(&record, threads, started, &hash, &rows))
    } else {
        let rows = multi_init_rows(&tables);
        dest.emit(file(&record, threads, started, &hash, &rows))
    }
}

/// Whether the method named `method` scores the network at initialisation
/// ([`Method::scores_at_init`]): where it has no mask, its scores were not all finite and no
/// training diverged.
pub(crate) fn scores_at_init(method: &str) -> bool {
    Method::from_name(method).is_some_and(Method::scores_at_init)
}

/// The name papers write for the method named `method` ([`Method::paper_name`]).
pub(crate) fn paper_name(method: &str) -> &str {
    match Method::from_name(method) {
        Some(m) => m.paper_name(),
        None => method,
    }
}

/// The warning for a method whose scores were not all finite (NaN or ±∞) for `count` of
/// `of` `units` (datasets, seeds): those have no mask and are counted in the `diverged`
/// column, but no training diverged.
pub(crate) fn warn_non_finite_scores(method: &str, count: u64, of: u64, units: &str) {
    let hint = if method == "grasp" {
        "; check `--grasp-temperature`"
    } else {
        ""
    };
    eprintln!(
        "warning: {}'s scores were not all finite (NaN or ±∞) for {count} of {of} {units}, which have no mask (counted in `diverged`; this is not diverged training){hint}",
        paper_name(method)
    );
}

/// Says on stderr which rows lost runs to divergence: rows where every run diverged have no
/// pmf (their entropy cells are empty), and rows where some did describe only the rest. Rows
/// of methods that score the initial network ([`scores_at_init`]) lost no training: their
/// `diverged` datasets had non-finite scores, and are reported as such.
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
    let mut scored: Vec<&str> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.diverged > 0 && scores_at_init(&r.method))
    {
        if !scored.contains(&r.method.as_str()) {
            scored.push(&r.method);
        }
    }
    for method in scored {
        let of: Vec<&ExactRow> = rows
            .iter()
            .filter(|r| r.method == method && r.diverged > 0)
            .collect();
        let hint = if method == "grasp" {
            "; check `--grasp-temperature`"
        } else {
            ""
        };
        eprintln!(
            "warning: {}'s scores were not all finite (NaN or ±∞) on some datasets in {} rows ({}): those datasets have no mask (column `diverged`; this is not diverged training){hint}",
            paper_name(method),
            of.len(),
            list(&of)
        );
    }
    let trained = |r: &&ExactRow| !scores_at_init(&r.method);
    let all: Vec<&ExactRow> = rows
        .iter()
        .filter(trained)
        .filter(|r| r.entropy_bits.is_none())
        .collect();
    let some: Vec<&ExactRow> = rows
        .iter()
        .filter(trained)
        .filter(|r| r.entropy_bits.is_some() && r.diverged > 0)
        .collect();
    if !all.is_empty() {
        eprintln!(
            "warning: every training run diverged in {} rows ({}): they have no mask pmf, so entropy_bits, mi_bits and p_eff are empty; lower `--lr`",
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

/// One file given to `peff merge`, read (size-capped) but not yet parsed.
pub(crate) struct ShardInput<'a> {
    /// Where it was read from, for messages.
    pub path: &'a Path,
    /// Its text.
    pub text: String,
}

/// Parses every input as a shard file of configuration `C` and payload `P`.
pub(crate) fn parse_shards<C, P>(inputs: &[ShardInput<'_>]) -> anyhow::Result<Vec<ShardFile<C, P>>>
where
    C: Serialize + DeserializeOwned,
    P: ShardPayload<C>,
{
    inputs
        .iter()
        .map(|i| ShardFile::parse(&i.text).with_context(|| format!("'{}'", i.path.display())))
        .collect()
}

/// The shard files of one run, parsed, and where `peff merge` writes their result: `--out`,
/// and `--name` or the run's `default_stem`, checked before the merge's result is computed
/// (a writable directory; the CSV and JSON not one file; not another run's result without
/// `--force`), with the `threads` record of a merge. `merge_shards` is the experiment's merge
/// (the shards' checks and the whole run's record and output).
pub(crate) fn merged<'a, C, P, O>(
    inputs: &[ShardInput<'_>],
    output: &'a super::args::OutputArgs,
    merge_shards: impl FnOnce(&[ShardFile<C, P>]) -> anyhow::Result<(RunRecord<C>, O)>,
    default_stem: impl FnOnce(&RunRecord<C>) -> anyhow::Result<String>,
) -> anyhow::Result<(Destination<'a>, RunRecord<C>, O, Threads)>
where
    C: Serialize + DeserializeOwned,
    P: ShardPayload<C>,
{
    let parts: Vec<ShardFile<C, P>> = parse_shards(inputs)?;
    let (whole, merged) = merge_shards(&parts)?;
    let dest = Destination::of(output, || default_stem(&whole))?;
    dest.check_before_work(None, &whole, &[])?;
    let threads = Threads::Merged {
        shards: parts.len() as u64,
    };
    Ok((dest, whole, merged, threads))
}

/// What `peff verify` hands an experiment's verify step: the result file, its text, the
/// worker threads, and (image results) where its data files are now.
pub(crate) struct VerifyRequest<'a> {
    /// The JSON result.
    pub file: &'a Path,
    /// Its text (size-capped read).
    pub text: &'a str,
    /// `--threads`, validated by the step that uses it.
    pub threads: &'a super::args::ThreadsArgs,
    /// `--data DIR`: the directory of the data files, if given.
    pub data: Option<&'a Path>,
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
