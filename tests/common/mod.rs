//! Helpers shared by the integration tests: running the `peff` binary (`peff`, `run_ok`,
//! `expect_error` and the bad-input contract they check), the small configurations several
//! files run (`toy`, `NOISE_CORR`), reading what a run wrote, and the helpers of checkpoint
//! tests: stopping a run with SIGINT once it has saved progress; breaking its checkpoint's
//! directory while it runs; setting the wall time a checkpoint records. Each test file says
//! `mod common;` and compiles its own copy, so not every file uses every helper.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `peff exact` columns (SPEC §8).
pub const EXACT_HEADER: &str = "task,method,k,sparsity,entropy_bits,mi_bits,ceiling_bits,p_eff,distinct_masks,diverged,tie_mass";

/// A tiny noise-corr configuration (IMP, 2 prunes), without its seeds and epochs.
pub const NOISE_CORR_BASE: [&str; 16] = [
    "noise-corr",
    "--d",
    "3",
    "--teacher-hidden",
    "4",
    "--student-hidden",
    "6,5",
    "--n",
    "20",
    "--mc",
    "50",
    "--lr",
    "1e-2",
    "--prunes",
    "2",
    "--threads=1",
];

/// [`NOISE_CORR_BASE`] with 3 seeds of 3 epochs per level.
pub const NOISE_CORR: [&str; 20] = {
    let tail = ["--epochs-per-level", "3", "--seeds", "3"];
    let mut all = [""; 20];
    let mut i = 0;
    while i < all.len() {
        all[i] = if i < NOISE_CORR_BASE.len() {
            NOISE_CORR_BASE[i]
        } else {
            tail[i - NOISE_CORR_BASE.len()]
        };
        i += 1;
    }
    all
};

/// The `peff` binary as a command to add arguments, stdin or environment to.
pub fn peff_command() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_peff"))
}

/// Runs `peff args…` and returns its output, whatever its exit status.
pub fn peff<S: AsRef<OsStr>>(args: &[S]) -> Output {
    peff_command().args(args).output().expect("peff runs")
}

/// Runs `peff args…`, asserts success and returns (stdout, stderr).
pub fn run_ok_with_stderr(args: &[&str]) -> (String, String) {
    let output = peff(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "peff {} failed: {stderr}",
        args.join(" ")
    );
    (String::from_utf8(output.stdout).unwrap(), stderr)
}

/// Runs `peff args…`, asserts success and returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    run_ok_with_stderr(args).0
}

/// Runs `peff args…` and checks the bad-input contract: a non-zero exit status (not a signal,
/// not a panic's 101), no panic, exactly one line on stderr, containing every phrase. Returns
/// the line, or why the contract was broken.
pub fn check_error(args: &[String], phrases: &[&str]) -> Result<String, String> {
    let output = peff(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let context = format!("peff {}: stderr {stderr:?}", args.join(" "));
    match output.status.code() {
        None => return Err(format!("{context}: killed by a signal")),
        Some(code @ (0 | 101)) => return Err(format!("{context}: exit status {code}")),
        Some(_) => {}
    }
    if stderr.contains("panicked") {
        return Err(format!("{context}: panicked"));
    }
    if stderr.lines().count() != 1 {
        return Err(format!("{context}: not exactly one line"));
    }
    if let Some(missing) = phrases.iter().find(|p| !stderr.contains(*p)) {
        return Err(format!("{context}: does not mention {missing:?}"));
    }
    Ok(stderr.trim_end().to_string())
}

/// [`check_error`] that panics on a broken contract.
pub fn expect_error(args: &[&str], phrases: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    check_error(&args, phrases).unwrap_or_else(|e| panic!("{e}"))
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `base` followed by `extra`.
pub fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    [base, extra].concat()
}

/// A small toy configuration (p = 17) writing into `out`, followed by `extra`.
pub fn toy<'a>(command: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        command,
        "--n",
        "2",
        "--input-dim",
        "2",
        "--steps",
        "30",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// Parses CSV text into its header line and records, failing on ragged rows.
pub fn parse_csv(text: &str) -> (String, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    let records = reader.records().collect::<Result<Vec<_>, _>>().unwrap();
    (header, records)
}

/// Records of a CSV table by column name.
pub fn records(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// `Partial::new`'s checksum, recomputed for an edited partial (as anyone can): SHA-256 (hex)
/// of the file's JSON with an empty checksum field.
pub fn resign(mut partial: peff::experiments::toy::partial::Partial) -> String {
    use sha2::{Digest, Sha256};
    partial.checksum.clear();
    let unsigned = serde_json::to_string(&partial).unwrap();
    partial.checksum = format!("{:x}", Sha256::digest(unsigned.as_bytes()));
    serde_json::to_string(&partial).unwrap()
}

/// Starts `peff args` with stdout and stderr piped and waits until `file` exists (at most two
/// minutes, polling every `poll`) or the run has ended.
pub fn spawn_until_written(args: &[&str], file: &Path, poll: Duration) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peff starts");
    let started = Instant::now();
    while !file.exists() && child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} never appeared",
            file.display()
        );
        std::thread::sleep(poll);
    }
    child
}

/// Runs `peff args`, waits until `file` exists (at most two minutes), then sends SIGINT.
/// `None` when the run had already ended by then (the caller retries with more work); else the
/// interrupted run's output.
pub fn interrupt_once_written(args: &[&str], file: &Path) -> Option<Output> {
    let mut child = spawn_until_written(args, file, Duration::from_millis(2));
    if child.try_wait().unwrap().is_some() {
        return None;
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    (!output.status.success()).then_some(output)
}

/// Runs `peff args`, waits until its checkpoint `file` exists (at most two minutes), then
/// replaces the checkpoint's directory by a regular file, so that every later save fails (as
/// on a full disk) while the run goes on. `None` when the run had already ended by then (the
/// caller retries with more work); else the run's output.
pub fn break_checkpoint_dir_once_written(args: &[&str], file: &Path) -> Option<Output> {
    let mut child = spawn_until_written(args, file, Duration::from_millis(1));
    let dir = file.parent().expect("the checkpoint has a directory");
    // Moved away, not removed: the run may be writing its next save into it right now, and
    // a rename does not race with that as `remove_dir_all` would.
    std::fs::rename(dir, dir.with_extension("moved")).unwrap();
    std::fs::write(dir, b"not a directory").unwrap();
    if child.try_wait().unwrap().is_some() {
        return None;
    }
    Some(child.wait_with_output().unwrap())
}

/// Sets the wall time a checkpoint records (`wall_seconds`) and signs it again, as if its
/// earlier parts had run that long.
pub fn set_checkpoint_wall_seconds(file: &Path, seconds: f64) {
    use sha2::{Digest, Sha256};
    let text = std::fs::read_to_string(file).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let object = value.as_object_mut().unwrap();
    assert!(
        object.contains_key("wall_seconds"),
        "a checkpoint records its wall time"
    );
    object.insert("wall_seconds".into(), seconds.into());
    object.insert("checksum".into(), "".into());
    let checksum = format!("{:x}", Sha256::digest(value.to_string().as_bytes()));
    value["checksum"] = checksum.into();
    std::fs::write(file, value.to_string()).unwrap();
}

/// The `wall_seconds` of a JSON result.
pub fn result_wall_seconds(json: &Path) -> f64 {
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    value["wall_seconds"].as_f64().unwrap()
}

/// Runs `peff args` under `ulimit -v kib` (an address-space limit, as a cluster's memory limit
/// may be) with the environment `env` added, through `sh -c 'ulimit -v …; exec peff …'`, and
/// checks that it failed the way issue 28 asks: exit status 1 (no abort, 134; no signal) and
/// a one-line error as the last line of stderr (notes may come before it). Returns that line.
pub fn one_line_error_under_ulimit_v(kib: u64, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_peff"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{:?}: {stderr}",
        output.status
    );
    assert!(!stderr.contains("memory allocation of"), "{stderr}");
    let errors = stderr.lines().filter(|l| l.contains("Error")).count();
    assert_eq!(errors, 1, "one error line: {stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("Error: "), "{stderr}");
    last.to_string()
}
