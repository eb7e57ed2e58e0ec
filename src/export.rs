//! Output: tables on stdout and result files under `--out`, written atomically (SPEC §8).
//!
//! Rows are any `Serialize` record; CSV uses the record's field names as the header, JSON an
//! array of objects with the same keys, and the table aligns the CSV cells. Result files are
//! written to a temporary name in the target directory, synced, then renamed into place, so an
//! interrupted run never leaves a half-written file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::input::{read_capped, read_capped_text, MAX_RESULT_BYTES, MAX_SHARD_BYTES};

/// How rows are printed on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Aligned columns for reading.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Rows as CSV text with a header line: the record's keys in declaration order (flattened
/// fields included), numbers in shortest round-trip form, `None` as an empty cell.
pub fn to_csv<R: Serialize>(rows: &[R]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Option<Vec<String>> = None;
    for row in rows {
        let serde_json::Value::Object(fields) = serde_json::to_value(row)? else {
            anyhow::bail!("CSV rows must be records");
        };
        let keys: Vec<String> = fields.keys().cloned().collect();
        match &header {
            None => {
                writer.write_record(&keys)?;
                header = Some(keys);
            }
            Some(h) if *h != keys => anyhow::bail!("CSV rows have different columns"),
            Some(_) => {}
        }
        writer.write_record(fields.values().map(|v| match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }))?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// Rows as a pretty JSON array.
pub fn to_json<R: Serialize>(rows: &[R]) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(rows)? + "\n")
}

/// Rows as an aligned text table (floats to 6 decimals).
pub fn to_table<R: Serialize>(rows: &[R]) -> anyhow::Result<String> {
    let csv_text = to_csv(rows)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.as_bytes());
    let cells: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(short_cell).collect()))
        .collect::<Result<_, _>>()?;
    let columns = cells.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| cells.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:>w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    Ok(out)
}

fn short_cell(cell: &str) -> String {
    match cell.parse::<f64>() {
        Ok(v) if cell.contains('.') || cell.contains('e') => format!("{v:.6}"),
        _ => cell.to_string(),
    }
}

/// Rows rendered in `format`.
pub fn render<R: Serialize>(rows: &[R], format: Format) -> anyhow::Result<String> {
    match format {
        Format::Table => to_table(rows),
        Format::Csv => to_csv(rows),
        Format::Json => to_json(rows),
    }
}

/// Creates `dir` and its parents if needed. A path on the way that exists but is not a
/// directory (a file, a dangling link) is named in one line, where `create_dir_all` would say
/// only "File exists".
fn create_dir(dir: &Path) -> anyhow::Result<()> {
    for ancestor in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        if std::fs::symlink_metadata(ancestor).is_ok() {
            if let Some(what) = crate::data::not_a_directory(ancestor) {
                anyhow::bail!("'{}' {what}", ancestor.display());
            }
            break;
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory '{}'", dir.display()))
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, fsync,
/// rename.
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir(dir)?;
    remove_stale_temps(path);
    let tmp = temp_name(path)?;
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing '{}'", path.display()))
}

/// Checks before any work that `dir` can hold result files (creating it if needed).
pub fn check_out_dir(dir: &Path) -> anyhow::Result<()> {
    create_dir(dir).context("`--out`")?;
    let probe = dir.join(format!(".peff-write-probe{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("`--out`: directory '{}' is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Removes the temporary files that dead processes left for `path` (a `kill -9` between the
/// write and the rename): `.<name>.tmp<pid>-<n>` whose process no longer exists. Files of live
/// processes, this one included, are left alone. Only where a process's liveness can be read
/// (`/proc` on Linux); elsewhere nothing is removed.
pub fn remove_stale_temps(path: &Path) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = format!(".{}.tmp", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()))
        else {
            continue;
        };
        if pid != std::process::id() && process_is_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` is known to have ended (`false` when it cannot be told).
fn process_is_gone(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    cfg!(target_os = "linux")
        && proc_root.join("self").exists()
        && !proc_root.join(pid.to_string()).exists()
}

/// SHA-256 (hex) of `bytes`: what a result JSON records of its CSV (`csv_sha256`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// Checks that the CSV `csv` and the JSON result `json` beside it come from one run: when the
/// JSON records `csv_sha256` (results written since it was added), the CSV's SHA-256 must equal
/// it. A pair where either file is missing, or an older JSON without the field, passes.
pub fn check_result_pair(csv: &Path, json: &Path) -> anyhow::Result<()> {
    if !csv.is_file() || !json.is_file() {
        return Ok(());
    }
    let Ok(text) = read_capped_text(json, MAX_RESULT_BYTES, "result file") else {
        return Ok(());
    };
    let recorded = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("csv_sha256")?.as_str().map(str::to_string));
    let Some(recorded) = recorded else {
        return Ok(());
    };
    let bytes = read_capped(csv, MAX_RESULT_BYTES, "result file")?;
    if sha256_hex(&bytes) != recorded {
        anyhow::bail!(
            "'{}' and '{}' come from two different runs (the CSV's SHA-256 is not the one the JSON records); rerun the command that wrote them",
            csv.display(),
            json.display()
        );
    }
    Ok(())
}

/// A temporary name for `path`'s new contents, unique per process and call.
fn temp_name(path: &Path) -> anyhow::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?;
    Ok(dir.join(format!(
        ".{}.tmp{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )))
}

/// Writes a result that consists of several files (a table's `<stem>.csv` and `<stem>.json`)
/// as one unit: **both or neither**, and never a mix of two runs.
///
/// Every file is first written in full to a temporary name in its directory and synced; if any
/// write fails (a full disk), every temporary is removed and no result file changes. Then, under
/// an exclusive lock on the directory (`flock` on the directory itself, so no lock file is left
/// behind), the temporaries are renamed into place one after the other: a concurrent run writing
/// the same names waits for the lock, so the pair on disk always comes from one run. Every
/// subcommand that writes a result table writes it through this function; new subcommands adopt
/// it with one call, `write_result_files(&[(csv_path, csv), (json_path, json)])`.
///
/// `guard` (the result JSON's path, the run record it will hold and `--force`) repeats
/// [`check_overwrite`] under the lock, right before the renames: a long run that finishes after
/// a run of another configuration wrote the same names does not replace that run's result.
pub fn write_result_files(
    files: &[(PathBuf, Vec<u8>)],
    guard: Option<(&Path, &serde_json::Value, bool)>,
) -> anyhow::Result<()> {
    write_result_files_removing(files, &[], guard)
}

/// [`write_result_files`] that also removes the files `remove` (where they exist), under the
/// same lock right after the renames: a result one of whose files this run does not write
/// (`peff stochastic`'s figure when there is nothing to draw) never leaves an earlier run's
/// file beside the new ones.
pub fn write_result_files_removing(
    files: &[(PathBuf, Vec<u8>)],
    remove: &[&Path],
    guard: Option<(&Path, &serde_json::Value, bool)>,
) -> anyhow::Result<()> {
    let mut temps: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, &Path)]| {
        for (tmp, _) in temps {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for (path, contents) in files {
        let written = (|| -> anyhow::Result<PathBuf> {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            create_dir(dir)?;
            remove_stale_temps(path);
            let tmp = temp_name(path)?;
            let result = (|| {
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(contents)?;
                file.sync_all()
            })();
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(e).with_context(|| format!("writing '{}'", path.display()));
            }
            Ok(tmp)
        })();
        match written {
            Ok(tmp) => temps.push((tmp, path)),
            Err(e) => {
                cleanup(&temps);
                return Err(e.context("no result file was written"));
            }
        }
    }
    let dirs: std::collections::BTreeSet<PathBuf> = files
        .iter()
        .map(|(p, _)| {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        })
        .collect();
    // Lock every directory involved (sorted, so two runs cannot deadlock).
    let locks: Vec<std::fs::File> = dirs
        .iter()
        .filter_map(|d| {
            let f = std::fs::File::open(d).ok()?;
            f.lock().ok()?;
            Some(f)
        })
        .collect();
    if let Some((json, run, force)) = guard {
        if let Err(e) = check_overwrite(json, run, force) {
            cleanup(&temps);
            drop(locks);
            return Err(e.context("no result file was written"));
        }
    }
    for (i, (tmp, path)) in temps.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            cleanup(&temps[i..]);
            drop(locks);
            return Err(e).with_context(|| format!("writing '{}'", path.display()));
        }
    }
    for path in remove {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                drop(locks);
                return Err(e)
                    .with_context(|| format!("removing the earlier run's '{}'", path.display()));
            }
            _ => {}
        }
    }
    drop(locks);
    Ok(())
}

/// The path as it will be opened: its directory made absolute (created if needed) and its
/// file name, so that `out/x.json`, `./out/x.json` and `/abs/out/x.json` compare equal.
fn resolved(path: &Path) -> anyhow::Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("'{}' names no file", path.display()))?;
    create_dir(dir)?;
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("cannot resolve directory '{}'", dir.display()))?;
    Ok(dir.join(name))
}

/// Checks, before any work, every file a run will write: each `(flag, path)` of `outputs`
/// (`--checkpoint`, `--dump-init`, a shard file, the result files) must be creatable — its
/// directory exists or can be created and is writable, the path is not a directory — and no two
/// may be the same file (a checkpoint or `--dump-init` equal to a result file would be
/// overwritten). Fails with one line naming the flag. Like hyperfine, peff refuses a run whose
/// output it cannot write before spending any time on it.
pub fn check_output_paths(outputs: &[(&str, &Path)]) -> anyhow::Result<()> {
    let mut seen: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for &(flag, path) in outputs {
        let full = resolved(path).with_context(|| format!("{flag}: '{}'", path.display()))?;
        if full.is_dir() {
            anyhow::bail!("{flag}: '{}' is a directory", path.display());
        }
        let dir = full.parent().unwrap_or(Path::new("."));
        let probe = dir.join(format!(".peff-write-probe{}", std::process::id()));
        std::fs::write(&probe, b"").with_context(|| {
            format!(
                "{flag}: cannot write to directory '{}' of '{}'",
                dir.display(),
                path.display()
            )
        })?;
        let _ = std::fs::remove_file(probe);
        if let Some((other_flag, other, _)) = seen.iter().find(|(_, _, p)| *p == full) {
            anyhow::bail!(
                "{flag} '{}' is the same file as {other_flag} '{}'; choose another path",
                path.display(),
                other.display()
            );
        }
        seen.push((flag, path, full));
    }
    Ok(())
}

/// Refuses to replace a result file that holds a result of another run: `json` exists, and its
/// `run` record (command and configuration) differs from `run` (the record this run will
/// write, as JSON). `force` (the `--force` flag) allows it. A file from the same configuration
/// is replaced silently (a rerun), so reproducing `results/` never needs `--force`.
///
/// Whatever `force` says, a result never replaces a shard file or a checkpoint (a file with a
/// `format` tag): `peff merge --name <a shard's name>` would destroy its own input. A CSV
/// `<stem>.csv` that exists without its JSON is not known to be a rerun's and needs `force`.
pub fn check_overwrite(json: &Path, run: &serde_json::Value, force: bool) -> anyhow::Result<()> {
    if let Some(format) = format_tag(json) {
        anyhow::bail!(
            "'{}' is a shard file or checkpoint (format '{format}'); a result never replaces one: choose another `--name` or `--out`",
            json.display()
        );
    }
    let csv = json.with_extension("csv");
    if !force && !json.exists() && csv.exists() {
        anyhow::bail!(
            "'{}' exists without its JSON record, so peff cannot tell which run wrote it; choose `--name` or `--out`, or pass `--force` to replace it",
            csv.display()
        );
    }
    check_replace(json, run, force, MAX_RESULT_BYTES, "a result")
}

/// The `format` tag of a JSON file (shard files and checkpoints have one; results do not).
fn format_tag(path: &Path) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    let text = read_capped_text(path, MAX_SHARD_BYTES, "output file").ok()?;
    #[derive(serde::Deserialize)]
    struct Tag {
        format: Option<String>,
    }
    serde_json::from_str::<Tag>(&text).ok()?.format
}

/// The file a run writes its record to, checked before any work: its shard file under
/// `--shard` ([`crate::record::Shard::file_name`], with [`check_shard_overwrite`]), else its
/// result JSON `<stem>.json` (with [`check_overwrite`]). Returns the shard file's path.
pub fn check_destination(
    out: &Path,
    stem: &str,
    shard: Option<crate::record::Shard>,
    run: &serde_json::Value,
    force: bool,
) -> anyhow::Result<Option<PathBuf>> {
    match shard {
        Some(shard) => {
            let path = out.join(shard.file_name(stem));
            check_shard_overwrite(&path, run, force)?;
            Ok(Some(path))
        }
        None => {
            check_overwrite(&out.join(format!("{stem}.json")), run, force)?;
            Ok(None)
        }
    }
}

/// [`check_overwrite`] for a shard file (`--shard i/N`): shards of two configurations share
/// their file names when they share `--name` and `--out`.
pub fn check_shard_overwrite(
    path: &Path,
    run: &serde_json::Value,
    force: bool,
) -> anyhow::Result<()> {
    check_replace(path, run, force, MAX_SHARD_BYTES, "a shard")
}

fn check_replace(
    path: &Path,
    run: &serde_json::Value,
    force: bool,
    max: u64,
    what: &str,
) -> anyhow::Result<()> {
    if force || !path.exists() {
        return Ok(());
    }
    let same = read_capped_text(path, max, "output file")
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("run").map(crate::record::current_spelling))
        .is_some_and(|recorded| {
            recorded.get("command") == run.get("command")
                && recorded.get("config") == run.get("config")
        });
    if !same {
        anyhow::bail!(
            "'{}' holds {what} of another configuration; choose `--name` or `--out`, or pass `--force` to replace it",
            path.display()
        );
    }
    Ok(())
}
